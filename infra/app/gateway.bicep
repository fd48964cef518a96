// StockStream.Gateway: public WebSocket endpoint (wss://<fqdn>/ws). External ingress with transport auto
// (HTTP/1.1 Upgrade works through it) forwarding port 8080 only: /metrics and the detailed /health live on 8081,
// which nothing outside the replica reaches. At least two replicas, scaled on open connections.
// Multiple-revision mode so CD can start a new revision at 0 % traffic, smoke-test it, then shift traffic.
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

@minValue(2)
param minReplicas int
param maxReplicas int

@description('Open WebSockets per replica before another replica is added (sizing: docs/deploy.md, "Scaling the gateway").')
param connectionsPerReplica int

@description('Application Insights application id: the connection metric the scale rule reads.')
param appInsightsAppId string

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
    keyVaultSecret(redisSecretName, common.keyVaultUri, identity.id)
  ],
  empty(jwtSecretName) ? [] : [keyVaultSecret(jwtSecretName, common.keyVaultUri, identity.id)]
)

var env = concat(
  [
    { name: 'ConnectionStrings__redis', secretRef: redisSecretName }
    { name: 'Auth__Issuer', value: authIssuer }
    { name: 'Auth__Audience', value: authAudience }
    { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: common.appInsightsConnectionString }
    { name: 'AZURE_CLIENT_ID', value: identity.clientId }
    { name: 'OTEL_SERVICE_NAME', value: 'gateway' }
    { name: 'ASPNETCORE_FORWARDEDHEADERS_ENABLED', value: 'true' }
  ],
  managementEnv,
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
        // The latest revision is the last one CD promoted (or restored on rollback); CD pins traffic by
        // revision name while a new revision is on trial (.github/workflows/cd.yml).
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
          name: 'gateway'
          image: exists ? fetchImage.outputs.image : placeholderImage
          resources: {
            cpu: json(common.cpu)
            memory: common.memory
          }
          env: env
          probes: exists ? healthProbes : placeholderProbes
        }
      ]
      // Gateway drains clients (close 1012, so they resume on another replica) before it stops; give it the time.
      terminationGracePeriodSeconds: 30
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        // The HTTP scaler counts requests per interval and barely sees long-lived WebSockets. KEDA's
        // azure-app-insights scaler reads our own connection gauge instead (sent by the Azure Monitor exporter,
        // one sample per replica per minute, so the 1-minute sum is the total): replicas = total / target.
        // CPU and memory rules are the safety net if that metric lags or is missing (the scaler ignores nulls).
        rules: [
          {
            name: 'open-connections'
            custom: {
              type: 'azure-app-insights'
              metadata: {
                applicationInsightsId: appInsightsAppId
                tenantId: tenant().tenantId
                metricId: 'customMetrics/stockstream.gateway.connections'
                metricAggregationTimespan: '0:1'
                metricAggregationType: 'sum'
                targetValue: string(connectionsPerReplica)
                activationTargetValue: '0'
                ignoreNullValues: 'true'
              }
              identity: identity.id
            }
          }
          {
            name: 'cpu'
            custom: {
              type: 'cpu'
              metadata: {
                type: 'Utilization'
                value: '70'
              }
            }
          }
          {
            name: 'memory'
            custom: {
              type: 'memory'
              metadata: {
                type: 'Utilization'
                value: '75'
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
