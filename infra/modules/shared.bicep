// Types, values and functions the infra modules share (compile-time imports; nothing is deployed from here).

@export()
@description('Resource tags.')
type resourceTags = {
  *: string
}

@export()
@description('A container app secret resolved from Key Vault.')
type keyVaultSecretReference = {
  name: string
  keyVaultUrl: string
  identity: string
}

@export()
@description('What every app gets from the platform modules.')
type appCommon = {
  @description('Container Apps environment resource id.')
  environmentId: string
  @description('ACR login server, e.g. crxyz.azurecr.io.')
  registryServer: string
  @description('Key Vault URI ending in a slash.')
  keyVaultUri: string
  @description('Application Insights connection string (an ingestion address, not a credential: local auth is off).')
  appInsightsConnectionString: string
  @description('vCPU per replica as a decimal string, e.g. 0.5.')
  cpu: string
  @description('Memory per replica, e.g. 1Gi.')
  memory: string
}

@export()
@description('The user-assigned identity one app runs as (and no other app does).')
type appIdentity = {
  @description('Resource id: image pulls, Key Vault references, scale-rule authentication.')
  id: string
  @description('Client id (AZURE_CLIENT_ID): the app signs in to Application Insights with it.')
  clientId: string
}

@export()
@description('Port every StockStream service serves its public endpoints on in a container (the only one ingress forwards).')
var containerPort = 8080

@export()
@description('Port that alone serves /metrics and the detailed /health (Management:Port); no ingress forwards it.')
var managementPort = 8081

@export()
@description('Stand-in image for the first provision, before `azd deploy` has pushed ours; an ASP.NET Core app, so it listens on ASPNETCORE_HTTP_PORTS too.')
var placeholderImage = 'mcr.microsoft.com/dotnet/samples:aspnetapp'

@export()
@description('Environment variables that move the management endpoints off the public port (ServiceDefaults/Management).')
var managementEnv = [
  {
    name: 'ASPNETCORE_HTTP_PORTS'
    value: '8080;8081'
  }
  {
    name: 'Management__Port'
    value: '8081'
  }
]

// Probes are literal (ports written out, not computed) so that the compiled template states them plainly and the
// tests in StockStream.Tests/Infra read them from the ARM JSON.
@export()
@description('Our image: startup and liveness on /alive (no dependencies: a Redis outage never restarts us), readiness on the detailed /health, which only the management port serves.')
var healthProbes = [
  {
    type: 'Startup'
    httpGet: {
      path: '/alive'
      port: 8080
      scheme: 'HTTP'
    }
    initialDelaySeconds: 2
    periodSeconds: 3
    timeoutSeconds: 2
    failureThreshold: 10
  }
  {
    type: 'Liveness'
    httpGet: {
      path: '/alive'
      port: 8080
      scheme: 'HTTP'
    }
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 3
  }
  {
    type: 'Readiness'
    httpGet: {
      path: '/health'
      port: 8081
      scheme: 'HTTP'
    }
    periodSeconds: 5
    timeoutSeconds: 3
    failureThreshold: 3
    successThreshold: 1
  }
]

@export()
@description('First provision (stand-in image, which has neither /alive nor /health): the same three probes as TCP checks of both ports, so no app ever runs unprobed. The next provision (every CD run) switches to healthProbes.')
var placeholderProbes = [
  {
    type: 'Startup'
    tcpSocket: {
      port: 8080
    }
    initialDelaySeconds: 2
    periodSeconds: 3
    timeoutSeconds: 2
    failureThreshold: 10
  }
  {
    type: 'Liveness'
    tcpSocket: {
      port: 8080
    }
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 3
  }
  {
    type: 'Readiness'
    tcpSocket: {
      port: 8081
    }
    periodSeconds: 5
    timeoutSeconds: 3
    failureThreshold: 3
    successThreshold: 1
  }
]

@export()
@description('A container app secret that Container Apps resolves from Key Vault with the app identity.')
func keyVaultSecret(name string, keyVaultUri string, identityId string) keyVaultSecretReference => {
  name: name
  keyVaultUrl: '${keyVaultUri}secrets/${name}'
  identity: identityId
}
