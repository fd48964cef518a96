// Azure Container Registry; the apps' identity gets AcrPull, no admin user, no anonymous pull.
// AVM equivalent: br/public:avm/res/container-registry/registry.
import { resourceTags } from 'shared.bicep'

param location string
param tags resourceTags
param name string

@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param sku string

@description('Name of the user-assigned identity that pulls images (the apps\' identity).')
param pullIdentityName string

var acrPullRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
    zoneRedundancy: sku == 'Premium' ? 'Enabled' : 'Disabled'
  }
}

resource pullIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: pullIdentityName
}

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, pullIdentity.id, acrPullRoleId)
  scope: registry
  properties: {
    principalId: pullIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: acrPullRoleId
  }
}

output id string = registry.id
output name string = registry.name
output loginServer string = registry.properties.loginServer
