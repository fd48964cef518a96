// Key Vault in RBAC mode holding the secrets the apps reference (never copied into app settings).
// AVM equivalent: br/public:avm/res/key-vault/vault.
import { resourceTags } from 'shared.bicep'

param location string
param tags resourceTags
param name string
param enablePurgeProtection bool

@description('Name of the user-assigned identity that reads secrets at run time (the apps\' identity).')
param readerIdentityName string

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

var secretsUserRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
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
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
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

resource readerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: readerIdentityName
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerIdentity.id, secretsUserRoleId)
  scope: vault
  properties: {
    principalId: readerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: secretsUserRoleId
  }
}

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
