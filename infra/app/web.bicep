// StockStream.Web (Blazor Server): external ingress with sticky sessions, because a Blazor circuit lives in
// one replica's memory. services__gateway__https__0 is the gateway's FQDN (calls to it from inside the
// environment stay inside it); services__gateway__http__0 is the short app-name address. Resolve
// "https+http://gateway" so the HTTPS one wins: the gateway does not allow plain HTTP (allowInsecure: false).
// The web talks only to the gateway (public protocol), never to the data store, so it holds no such secret.
// Multiple-revision mode: CD starts a new revision at 0 % traffic and smoke-tests it before shifting traffic.
import {
  appCommon
  appIdentity
  containerPort
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

@minValue(1)
param minReplicas int
param maxReplicas int

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

var secrets = empty(jwtSecretName) ? [] : [keyVaultSecret(jwtSecretName, common.keyVaultUri, identity.id)]

var env = concat(
  [
    { name: 'services__gateway__http__0', value: gatewayInternalUrl }
    { name: 'services__gateway__https__0', value: gatewayPublicUrl }
    { name: 'Auth__Issuer', value: authIssuer }
    { name: 'Auth__Audience', value: authAudience }
    { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: common.appInsightsConnectionString }
    { name: 'AZURE_CLIENT_ID', value: identity.clientId }
    { name: 'OTEL_SERVICE_NAME', value: 'web' }
    { name: 'ASPNETCORE_FORWARDEDHEADERS_ENABLED', value: 'true' }
  ],
  managementEnv,
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
      '${identity.id}': {}
    }
  }
  properties: {
    environmentId: common.environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Multiple'
      maxInactiveRevisions: 10
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
          identity: identity.id
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
          probes: exists ? healthProbes : placeholderProbes
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
