// StockStream.Web (Blazor Server): external ingress with sticky sessions, because a Blazor circuit lives in
// one replica's memory. services__gateway__https__0 is the gateway's FQDN (calls to it from inside the
// environment stay inside it); services__gateway__http__0 is the short app-name address. Resolve
// "https+http://gateway" so the HTTPS one wins: the gateway does not allow plain HTTP (allowInsecure: false).
import { appCommon, containerPort, placeholderImage, healthProbes, keyVaultSecret, resourceTags } from '../modules/shared.bicep'

param location string
param tags resourceTags
param name string
param exists bool
param common appCommon

@minValue(1)
param minReplicas int
param maxReplicas int

param redisSecretName string

@description('Key Vault secret with the development signing key; empty when an OIDC authority is used.')
param jwtSecretName string
param authAuthority string
param authAudience string
param authIssuer string

param gatewayInternalUrl string
param gatewayPublicUrl string

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
    { name: 'services__gateway__http__0', value: gatewayInternalUrl }
    { name: 'services__gateway__https__0', value: gatewayPublicUrl }
    { name: 'Auth__Issuer', value: authIssuer }
    { name: 'Auth__Audience', value: authAudience }
    { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: common.appInsightsConnectionString }
    { name: 'OTEL_SERVICE_NAME', value: 'web' }
    { name: 'ASPNETCORE_FORWARDEDHEADERS_ENABLED', value: 'true' }
    { name: 'AZURE_CLIENT_ID', value: common.identityClientId }
  ],
  empty(jwtSecretName) ? [] : [{ name: 'Auth__SigningKey', secretRef: jwtSecretName }],
  empty(authAuthority) ? [] : [{ name: 'Auth__Authority', value: authAuthority }]
)

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'web' })
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
        stickySessions: {
          affinity: 'sticky'
        }
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
          name: 'web'
          image: exists ? fetchImage.outputs.image : placeholderImage
          resources: {
            cpu: json(common.cpu)
            memory: common.memory
          }
          env: env
          probes: exists ? healthProbes() : []
        }
      ]
      terminationGracePeriodSeconds: 30
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'http-requests'
            http: {
              metadata: {
                concurrentRequests: '100'
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
