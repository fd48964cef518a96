// Types, values and functions the infra modules share (compile-time imports; nothing is deployed from here).

@export()
@description('Resource tags.')
type resourceTags = {
  *: string
}

@export()
@description('An HTTP probe of a container app container.')
type httpProbe = {
  type: 'Startup' | 'Liveness' | 'Readiness'
  httpGet: {
    path: string
    port: int
    scheme: 'HTTP' | 'HTTPS'
  }
  initialDelaySeconds: int?
  periodSeconds: int
  timeoutSeconds: int
  failureThreshold: int
  successThreshold: int?
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
  @description('User-assigned identity resource id: image pulls and Key Vault references.')
  identityId: string
  @description('Client id of that identity (AZURE_CLIENT_ID for DefaultAzureCredential).')
  identityClientId: string
  @description('ACR login server, e.g. crxyz.azurecr.io.')
  registryServer: string
  @description('Key Vault URI ending in a slash.')
  keyVaultUri: string
  @description('Application Insights connection string (an ingestion address, not a credential).')
  appInsightsConnectionString: string
  @description('vCPU per replica as a decimal string, e.g. 0.5.')
  cpu: string
  @description('Memory per replica, e.g. 1Gi.')
  memory: string
}

@export()
@description('Port every StockStream service listens on in a container.')
var containerPort = 8080

@export()
@description('Stand-in image for the first provision, before `azd deploy` has pushed ours; it listens on 8080 too.')
var placeholderImage = 'mcr.microsoft.com/dotnet/samples:aspnetapp'

@export()
@description('Startup, liveness (/alive: no dependencies, so a Redis outage never restarts us) and readiness (/health).')
func healthProbes() httpProbe[] => [
  {
    type: 'Startup'
    httpGet: {
      path: '/alive'
      port: containerPort
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
      port: containerPort
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
      port: containerPort
      scheme: 'HTTP'
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
