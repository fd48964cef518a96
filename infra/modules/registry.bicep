// Azure Container Registry; each app's identity gets AcrPull, no admin user, no anonymous pull.
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

@description('Names of the user-assigned identities that pull images (one per app).')
param pullIdentityNames string[]

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

resource pullIdentities 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = [
  for identityName in pullIdentityNames: {
    name: identityName
  }
]

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (identityName, i) in pullIdentityNames: {
    name: guid(registry.id, pullIdentities[i].id, acrPullRoleId)
    scope: registry
    properties: {
      principalId: pullIdentities[i].properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: acrPullRoleId
    }
  }
]

output id string = registry.id
output name string = registry.name
output loginServer string = registry.properties.loginServer
