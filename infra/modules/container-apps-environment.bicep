// Container Apps environment (workload profiles, Consumption) inside the VNet's infrastructure subnet,
// external so the gateway and web can take public traffic, with the Aspire dashboard component: the same dashboard
// as `dotnet run --project StockStream.AppHost`, fed by the apps' OTLP exporters (Container Apps points every app's
// OTEL_EXPORTER_OTLP_ENDPOINT at it once it exists). Only environment Contributors/Owners can open it (Entra ID).
// AVM equivalent: br/public:avm/res/app/managed-environment.
import { resourceTags } from 'shared.bicep'

param location string
param tags resourceTags
param name string
param logAnalyticsName string
param infrastructureSubnetId string
param zoneRedundant bool

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsName
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logAnalytics.properties.customerId
        sharedKey: logAnalytics.listKeys().primarySharedKey
      }
    }
    vnetConfiguration: {
      infrastructureSubnetId: infrastructureSubnetId
      internal: false
    }
    zoneRedundant: zoneRedundant
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

resource aspireDashboard 'Microsoft.App/managedEnvironments/dotNetComponents@2025-02-02-preview' = {
  parent: environment
  name: 'aspire-dashboard'
  properties: {
    componentType: 'AspireDashboard'
  }
}

output id string = environment.id
output name string = environment.name
output defaultDomain string = environment.properties.defaultDomain
output staticIp string = environment.properties.staticIp
output aspireDashboardUrl string = 'https://${aspireDashboard.name}.ext.${environment.properties.defaultDomain}'
