// Key Vault in RBAC mode holding the secrets the apps reference (never copied into app settings). Private: public
// network access is disabled and the apps reach it through a private endpoint in the VNet. Secrets are written by
// the deployment itself (a control-plane operation, which a private vault still accepts). No identity is granted
// anything on the whole vault here: main.bicep grants each app read access to its own secrets only
// (secret-reader.bicep). AVM equivalent: br/public:avm/res/key-vault/vault (privateEndpoints parameter).
import { resourceTags } from 'shared.bicep'

param location string
param tags resourceTags
param name string
param enablePurgeProtection bool

param virtualNetworkId string
param privateEndpointSubnetId string

@description('Principal that may set and rotate secrets (the person running azd). Empty to skip.')
param rotatorPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param rotatorPrincipalType string = 'User'

param jwtSigningKeySecretName string

@secure()
param jwtSigningKey string

param coinGeckoApiKeySecretName string

@secure()
param coinGeckoApiKey string = ''

var secretsOfficerRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: enablePurgeProtection ? 90 : 7
    // Purge protection cannot be switched off again; leaving it unset lets `azd down --purge` work outside prod.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      bypass: 'None'
      defaultAction: 'Deny'
    }
  }
}

resource jwtSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: jwtSigningKeySecretName
  properties: {
    value: jwtSigningKey
    contentType: 'text/plain; purpose=stockstream-dev-jwt-signing-key'
  }
}

resource coinGeckoSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(coinGeckoApiKey)) {
  parent: vault
  name: coinGeckoApiKeySecretName
  properties: {
    value: coinGeckoApiKey
    contentType: 'text/plain; purpose=coingecko-api-key'
  }
}

resource privateDnsZone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: 'privatelink.vaultcore.azure.net'
  location: 'global'
  tags: tags
}

resource privateDnsZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: privateDnsZone
  name: 'link-${name}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: virtualNetworkId
    }
  }
}

resource privateEndpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: 'pe-${name}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: privateEndpointSubnetId
    }
    privateLinkServiceConnections: [
      {
        name: 'vault'
        properties: {
          privateLinkServiceId: vault.id
          groupIds: [
            'vault'
          ]
        }
      }
    ]
  }
}

resource privateDnsZoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = {
  parent: privateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'vault'
        properties: {
          privateDnsZoneId: privateDnsZone.id
        }
      }
    ]
  }
}

// Lets the person running azd manage secrets, e.g. from a machine in the VNet or through a temporary firewall
// exception (docs/deploy.md, "Secrets in a private vault"); routine rotation goes through `azd provision`.
resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(rotatorPrincipalId)) {
  name: guid(vault.id, rotatorPrincipalId, secretsOfficerRoleId)
  scope: vault
  properties: {
    principalId: rotatorPrincipalId
    principalType: rotatorPrincipalType
    roleDefinitionId: secretsOfficerRoleId
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
