// StockStream.Gateway: public WebSocket endpoint (wss://<fqdn>/ws). External ingress with transport auto
// (HTTP/1.1 Upgrade works through it), at least two replicas, scaled on concurrent connections: every open
// WebSocket is one concurrent request to the Container Apps HTTP scaler.
import { appCommon, containerPort, placeholderImage, healthProbes, keyVaultSecret, resourceTags } from '../modules/shared.bicep'

param location string
param tags resourceTags
param name string
param exists bool
param common appCommon

@minValue(2)
param minReplicas int
param maxReplicas int

@description('Open WebSockets per replica before another replica is added.')
param connectionsPerReplica int

param redisSecretName string

@description('Key Vault secret with the development signing key; empty when an OIDC authority is used.')
param jwtSecretName string
param authAuthority string
param authAudience string
param authIssuer string

module fetchImage '../modules/fetch-container-image.bicep' = {
  name: '${name}-image'
  params: {
    exists: exists
    name: name
  }
}

var secrets = concat(
  [
    keyVaultSecret(redisSecretName, common.keyVaultUri, common.identityId)
  ],
  empty(jwtSecretName) ? [] : [keyVaultSecret(jwtSecretName, common.keyVaultUri, common.identityId)]
)

var env = concat(
  [
    { name: 'ConnectionStrings__redis', secretRef: redisSecretName }
    { name: 'Auth__Issuer', value: authIssuer }
    { name: 'Auth__Audience', value: authAudience }
    { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: common.appInsightsConnectionString }
    { name: 'OTEL_SERVICE_NAME', value: 'gateway' }
    { name: 'ASPNETCORE_FORWARDEDHEADERS_ENABLED', value: 'true' }
    { name: 'AZURE_CLIENT_ID', value: common.identityClientId }
  ],
  empty(jwtSecretName) ? [] : [{ name: 'Auth__SigningKey', secretRef: jwtSecretName }],
  empty(authAuthority) ? [] : [{ name: 'Auth__Authority', value: authAuthority }]
)

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'gateway' })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${common.identityId}': {}
    }
  }
  properties: {
    environmentId: common.environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: containerPort
        transport: 'auto'
        allowInsecure: false
        traffic: [
          {
            latestRevision: true
            weight: 100
          }
        ]
      }
      registries: [
        {
          server: common.registryServer
          identity: common.identityId
        }
      ]
      secrets: secrets
    }
    template: {
      containers: [
        {
          name: 'gateway'
          image: exists ? fetchImage.outputs.image : placeholderImage
          resources: {
            cpu: json(common.cpu)
            memory: common.memory
          }
          env: env
          // The placeholder image has no /alive or /health; real probes arrive with the first real image.
          probes: exists ? healthProbes() : []
        }
      ]
      // Gateway drains clients (close 1012) before it stops; give it the time.
      terminationGracePeriodSeconds: 30
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'concurrent-connections'
            http: {
              metadata: {
                concurrentRequests: string(connectionsPerReplica)
              }
            }
          }
        ]
      }
    }
  }
}

output id string = app.id
output name string = app.name
output uri string = 'https://${app.properties.configuration.ingress.fqdn}'
output webSocketUri string = 'wss://${app.properties.configuration.ingress.fqdn}/ws'
@description('Address other apps in the environment use (plain HTTP inside the environment).')
output internalUrl string = 'http://${app.name}'
