// Azure Managed Redis (Microsoft.Cache/redisEnterprise): public network access disabled, reachable only
// through a private endpoint in the VNet, with its private DNS zone. The connection string (with the access
// key) is written straight into Key Vault here, so it never leaves this module as an output.
// AVM equivalent: br/public:avm/res/cache/redis-enterprise (with its privateEndpoints parameter).
import { resourceTags } from 'shared.bicep'

param location string
param tags resourceTags
param name string

@allowed([
  'Balanced_B0'
  'Balanced_B1'
  'Balanced_B3'
  'Balanced_B5'
  'MemoryOptimized_M10'
  'ComputeOptimized_X3'
])
param sku string

param highAvailability bool
param virtualNetworkId string
param privateEndpointSubnetId string
param keyVaultName string
param connectionStringSecretName string

var port = 10000
var privateDnsZoneName = 'privatelink.redis.azure.net'

resource cluster 'Microsoft.Cache/redisEnterprise@2025-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    minimumTlsVersion: '1.2'
    highAvailability: highAvailability ? 'Enabled' : 'Disabled'
    publicNetworkAccess: 'Disabled'
  }
}

resource database 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' = {
  parent: cluster
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: port
    // One endpoint, no cluster redirects: StackExchange.Redis sees a single non-clustered server,
    // so multi-key stream commands work unchanged.
    clusteringPolicy: 'EnterpriseCluster'
    // Streams are trimmed by the ingestor (MAXLEN); evicting them silently would break resume.
    evictionPolicy: 'NoEviction'
    // The apps authenticate with the access key from Key Vault; Entra ID auth needs code changes first.
    accessKeysAuthentication: 'Enabled'
  }
}

resource privateDnsZone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: privateDnsZoneName
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
        name: 'redis'
        properties: {
          privateLinkServiceId: cluster.id
          groupIds: [
            'redisEnterprise'
          ]
        }
      }
    ]
  }
  dependsOn: [
    database
  ]
}

resource privateDnsZoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = {
  parent: privateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'redis'
        properties: {
          privateDnsZoneId: privateDnsZone.id
        }
      }
    ]
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// StackExchange.Redis connection string, as Aspire's ConnectionStrings:redis expects.
resource connectionString 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: connectionStringSecretName
  properties: {
    value: '${cluster.properties.hostName}:${port},password=${database.listKeys().primaryKey},ssl=True,abortConnect=False'
    contentType: 'text/plain; purpose=stackexchange-redis-connection-string'
  }
}

output id string = cluster.id
output hostName string = cluster.properties.hostName
output port int = port
