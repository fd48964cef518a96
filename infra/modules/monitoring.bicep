// Log Analytics workspace and workspace-based Application Insights, with local (instrumentation-key) auth off:
// only Entra ID identities holding Monitoring Metrics Publisher can send telemetry, so a leaked connection string
// cannot be used to write into it. AVM equivalent: br/public:avm/res/operational-insights/workspace +
// br/public:avm/res/insights/component.
import { resourceTags } from 'shared.bicep'

param location string
param tags resourceTags
param logAnalyticsName string
param appInsightsName string

@minValue(30)
@maxValue(730)
param retentionInDays int

@description('App identities that send traces, logs and metrics (the Azure Monitor exporter in ServiceDefaults).')
param publisherIdentityNames string[]

@description('Identities that read metrics back (the gateway, whose scale rule reads its connection count).')
param readerIdentityNames string[]

var metricsPublisherRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
var monitoringReaderRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '43d0d8ad-25c7-4714-9337-8ba259a9fe05')

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

resource publishers 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = [
  for identityName in publisherIdentityNames: {
    name: identityName
  }
]

resource publish 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (identityName, i) in publisherIdentityNames: {
    name: guid(appInsights.id, publishers[i].id, metricsPublisherRoleId)
    scope: appInsights
    properties: {
      principalId: publishers[i].properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: metricsPublisherRoleId
    }
  }
]

resource readers 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = [
  for identityName in readerIdentityNames: {
    name: identityName
  }
]

resource read 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (identityName, i) in readerIdentityNames: {
    name: guid(appInsights.id, readers[i].id, monitoringReaderRoleId)
    scope: appInsights
    properties: {
      principalId: readers[i].properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: monitoringReaderRoleId
    }
  }
]

output logAnalyticsName string = logAnalytics.name
output logAnalyticsId string = logAnalytics.id
output appInsightsName string = appInsights.name
output appInsightsId string = appInsights.id
@description('Application Insights application id (a GUID): what the KEDA azure-app-insights scaler queries.')
output appInsightsAppId string = appInsights.properties.AppId
output appInsightsConnectionString string = appInsights.properties.ConnectionString
