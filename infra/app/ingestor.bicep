// StockStream.Ingestor: no ingress (nothing calls it), exactly two replicas. Both run; the one holding the
// leader lease in Redis publishes, the other takes over within the lease TTL if it dies.
import {
  appCommon
  appIdentity
  healthProbes
  keyVaultSecret
  managementEnv
  placeholderImage
  placeholderProbes
  resourceTags
} from '../modules/shared.bicep'

param location string
param tags resourceTags
param name string
param exists bool
param common appCommon
param identity appIdentity

@description('Fixed replica count: one leader, one warm standby.')
@minValue(2)
param replicas int = 2

param redisSecretName string

@description('Key Vault secret with the CoinGecko API key; empty to run without one.')
param coinGeckoSecretName string
param coinGeckoBaseUrl string

module fetchImage '../modules/fetch-container-image.bicep' = {
  name: '${name}-image'
  params: {
    exists: exists
    name: name
  }
}

var secrets = concat(
  [
    keyVaultSecret(redisSecretName, common.keyVaultUri, identity.id)
  ],
  empty(coinGeckoSecretName) ? [] : [keyVaultSecret(coinGeckoSecretName, common.keyVaultUri, identity.id)]
)

var env = concat(
  [
    { name: 'ConnectionStrings__redis', secretRef: redisSecretName }
    { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: common.appInsightsConnectionString }
    { name: 'AZURE_CLIENT_ID', value: identity.clientId }
    { name: 'OTEL_SERVICE_NAME', value: 'ingestor' }
  ],
  managementEnv,
  empty(coinGeckoSecretName) ? [] : [{ name: 'CoinGecko__ApiKey', secretRef: coinGeckoSecretName }],
  empty(coinGeckoBaseUrl) ? [] : [{ name: 'CoinGecko__BaseUrl', value: coinGeckoBaseUrl }]
)

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'ingestor' })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    environmentId: common.environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      // No ingress: the probes still reach the container on 8080 and 8081.
      registries: [
        {
          server: common.registryServer
          identity: identity.id
        }
      ]
      secrets: secrets
    }
    template: {
      containers: [
        {
          name: 'ingestor'
          image: exists ? fetchImage.outputs.image : placeholderImage
          resources: {
            cpu: json(common.cpu)
            memory: common.memory
          }
          env: env
          probes: exists ? healthProbes : placeholderProbes
        }
      ]
      terminationGracePeriodSeconds: 30
      scale: {
        minReplicas: replicas
        maxReplicas: replicas
      }
    }
  }
}

output id string = app.id
output name string = app.name
output replicas int = replicas
