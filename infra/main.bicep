// StockStream on Azure Container Apps: azd entry point (`azd provision` / `azd up`).
// Plain resource declarations on purpose: the Azure Verified Modules (br/public:avm/...) need a registry
// restore that offline builds cannot do. docs/deploy.md lists which AVM module would replace each file.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the resource-name token.')
param environmentName string

@minLength(1)
@description('Azure region for every resource.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Which set of SKUs and replica counts to deploy.')
@allowed([
  'dev'
  'staging'
  'prod'
])
param environmentType string = 'dev'

@description('Object id of the person or principal running azd; gets Key Vault Secrets Officer so it can rotate secrets. Empty to skip.')
param principalId string = ''

@description('Kind of principal in principalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@secure()
@minLength(32)
@description('Symmetric key the gateway validates development JWTs with (Auth:SigningKey). azd generates one on first provision.')
@metadata({
  azd: {
    type: 'generate'
    config: {
      length: 64
      noSpecial: true
    }
  }
})
param jwtSigningKey string

@secure()
@description('CoinGecko API key for the ingestor (CoinGecko:ApiKey). Empty runs the public, rate-limited API.')
param coinGeckoApiKey string = ''

@description('CoinGecko base address (CoinGecko:BaseUrl). Empty keeps the ingestor default.')
param coinGeckoBaseUrl string = ''

@description('OIDC authority (Auth:Authority). When set, the development signing key is not given to the apps.')
param authAuthority string = ''

@description('Expected token audience (Auth:Audience).')
param authAudience string = 'stockstream'

@description('Token issuer for development tokens (Auth:Issuer).')
param authIssuer string = 'stockstream-dev'

@minLength(1)
@description('On-call e-mail for alerts (required). \'none\' is the explicit opt-out: alerts then reach the subscription Owners only.')
param alertEmail string

@description('Set by azd (SERVICE_GATEWAY_RESOURCE_EXISTS): keep the deployed image on re-provision.')
param gatewayExists bool = false

@description('Set by azd (SERVICE_INGESTOR_RESOURCE_EXISTS).')
param ingestorExists bool = false

@description('Set by azd (SERVICE_WEB_RESOURCE_EXISTS).')
param webExists bool = false

// One table decides everything that differs between environments; docs/deploy.md prices each column.
var stages = {
  dev: {
    acrSku: 'Basic'
    redisSku: 'Balanced_B0'
    redisHighAvailability: false
    logRetentionDays: 30
    keyVaultPurgeProtection: false
    zoneRedundant: false
    appCpu: '0.25'
    appMemory: '0.5Gi'
    gatewayMinReplicas: 2
    gatewayMaxReplicas: 4
    webMinReplicas: 1
    webMaxReplicas: 2
    connectionsPerReplica: 2000
    availabilityTestSeconds: 900
  }
  staging: {
    acrSku: 'Standard'
    redisSku: 'Balanced_B1'
    redisHighAvailability: true
    logRetentionDays: 30
    keyVaultPurgeProtection: false
    zoneRedundant: false
    appCpu: '0.5'
    appMemory: '1Gi'
    gatewayMinReplicas: 2
    gatewayMaxReplicas: 6
    webMinReplicas: 2
    webMaxReplicas: 4
    connectionsPerReplica: 5000
    availabilityTestSeconds: 300
  }
  prod: {
    acrSku: 'Premium'
    redisSku: 'Balanced_B3'
    redisHighAvailability: true
    logRetentionDays: 90
    keyVaultPurgeProtection: true
    zoneRedundant: true
    appCpu: '1.0'
    appMemory: '2Gi'
    gatewayMinReplicas: 2
    gatewayMaxReplicas: 10
    webMinReplicas: 2
    webMaxReplicas: 6
    connectionsPerReplica: 10000
    availabilityTestSeconds: 300
  }
}
var stage = stages[environmentType]

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'stockstream'
  environment: environmentType
}

var names = {
  resourceGroup: 'rg-${environmentName}'
  logAnalytics: 'log-${resourceToken}'
  appInsights: 'appi-${resourceToken}'
  registry: 'cr${resourceToken}'
  gatewayIdentity: 'id-gateway-${resourceToken}'
  ingestorIdentity: 'id-ingestor-${resourceToken}'
  webIdentity: 'id-web-${resourceToken}'
  keyVault: 'kv-${resourceToken}'
  network: 'vnet-${resourceToken}'
  redis: 'redis-${resourceToken}'
  environment: 'cae-${resourceToken}'
  gateway: 'ca-gateway-${resourceToken}'
  ingestor: 'ca-ingestor-${resourceToken}'
  web: 'ca-web-${resourceToken}'
}

var secretNames = {
  jwtSigningKey: 'jwt-signing-key'
  coinGeckoApiKey: 'coingecko-api-key'
  redisConnectionString: 'redis-connection-string'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: names.resourceGroup
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
    retentionInDays: stage.logRetentionDays
    publisherIdentityNames: [
      names.gatewayIdentity
      names.ingestorIdentity
      names.webIdentity
    ]
    readerIdentityNames: [
      names.gatewayIdentity
    ]
  }
  dependsOn: [
    gatewayIdentity
    ingestorIdentity
    webIdentity
  ]
}

// One identity per app, so that each can read only its own secrets (secretReaders below).
module gatewayIdentity 'modules/identity.bicep' = {
  name: 'identity-gateway'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.gatewayIdentity
  }
}

module ingestorIdentity 'modules/identity.bicep' = {
  name: 'identity-ingestor'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.ingestorIdentity
  }
}

module webIdentity 'modules/identity.bicep' = {
  name: 'identity-web'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.webIdentity
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.registry
    sku: stage.acrSku
    pullIdentityNames: [
      names.gatewayIdentity
      names.ingestorIdentity
      names.webIdentity
    ]
  }
  dependsOn: [
    gatewayIdentity
    ingestorIdentity
    webIdentity
  ]
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.keyVault
    enablePurgeProtection: stage.keyVaultPurgeProtection
    virtualNetworkId: network.outputs.virtualNetworkId
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    rotatorPrincipalId: principalId
    rotatorPrincipalType: principalType
    jwtSigningKeySecretName: secretNames.jwtSigningKey
    jwtSigningKey: jwtSigningKey
    coinGeckoApiKeySecretName: secretNames.coinGeckoApiKey
    coinGeckoApiKey: coinGeckoApiKey
  }
}

module network 'modules/network.bicep' = {
  name: 'network'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.network
  }
}

module redis 'modules/redis.bicep' = {
  name: 'redis'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.redis
    sku: stage.redisSku
    highAvailability: stage.redisHighAvailability
    virtualNetworkId: network.outputs.virtualNetworkId
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    keyVaultName: names.keyVault
    connectionStringSecretName: secretNames.redisConnectionString
  }
  dependsOn: [
    keyVault
  ]
}

// Which app may read which secret; nothing else is granted on the vault. `when` says when the secret exists:
// always, only with the development signing key (no OIDC authority), or only when a CoinGecko key was given.
var secretReaders = [
  {
    app: 'gateway'
    secret: 'redis-connection-string'
    when: 'always'
  }
  {
    app: 'gateway'
    secret: 'jwt-signing-key'
    when: 'devSigningKey'
  }
  {
    app: 'ingestor'
    secret: 'redis-connection-string'
    when: 'always'
  }
  {
    app: 'ingestor'
    secret: 'coingecko-api-key'
    when: 'coinGeckoApiKey'
  }
  {
    app: 'web'
    secret: 'jwt-signing-key'
    when: 'devSigningKey'
  }
]

module secretAccess 'modules/secret-reader.bicep' = [
  for reader in secretReaders: if (reader.when == 'always' || (reader.when == 'devSigningKey' && empty(authAuthority)) || (reader.when == 'coinGeckoApiKey' && !empty(coinGeckoApiKey))) {
    name: 'secret-${reader.app}-${reader.secret}'
    scope: rg
    params: {
      keyVaultName: names.keyVault
      secretName: reader.secret
      identityName: 'id-${reader.app}-${resourceToken}'
    }
    // The Redis connection string is written by the redis module, the other secrets by the keyvault module.
    dependsOn: [
      keyVault
      redis
      gatewayIdentity
      ingestorIdentity
      webIdentity
    ]
  }
]

module containerAppsEnvironment 'modules/container-apps-environment.bicep' = {
  name: 'container-apps-environment'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.environment
    logAnalyticsName: names.logAnalytics
    infrastructureSubnetId: network.outputs.infrastructureSubnetId
    zoneRedundant: stage.zoneRedundant
  }
  dependsOn: [
    monitoring
  ]
}

// What every app shares: environment, registry, vault and telemetry (each app has its own identity).
var appCommon = {
  environmentId: containerAppsEnvironment.outputs.id
  registryServer: registry.outputs.loginServer
  keyVaultUri: keyVault.outputs.uri
  appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
  cpu: stage.appCpu
  memory: stage.appMemory
}

module gateway 'app/gateway.bicep' = {
  name: 'app-gateway'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.gateway
    exists: gatewayExists
    common: appCommon
    identity: {
      id: gatewayIdentity.outputs.id
      clientId: gatewayIdentity.outputs.clientId
    }
    minReplicas: stage.gatewayMinReplicas
    maxReplicas: stage.gatewayMaxReplicas
    connectionsPerReplica: stage.connectionsPerReplica
    appInsightsAppId: monitoring.outputs.appInsightsAppId
    redisSecretName: secretNames.redisConnectionString
    jwtSecretName: empty(authAuthority) ? secretNames.jwtSigningKey : ''
    authAuthority: authAuthority
    authAudience: authAudience
    authIssuer: authIssuer
  }
  // Container Apps resolves the Key Vault references at creation: the secrets and the app's access must exist.
  dependsOn: [
    secretAccess
  ]
}

module ingestor 'app/ingestor.bicep' = {
  name: 'app-ingestor'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.ingestor
    exists: ingestorExists
    common: appCommon
    identity: {
      id: ingestorIdentity.outputs.id
      clientId: ingestorIdentity.outputs.clientId
    }
    redisSecretName: secretNames.redisConnectionString
    coinGeckoSecretName: empty(coinGeckoApiKey) ? '' : secretNames.coinGeckoApiKey
    coinGeckoBaseUrl: coinGeckoBaseUrl
  }
  // Container Apps resolves the Key Vault references at creation: the secrets and the app's access must exist.
  dependsOn: [
    secretAccess
  ]
}

module web 'app/web.bicep' = {
  name: 'app-web'
  scope: rg
  params: {
    location: location
    tags: tags
    name: names.web
    exists: webExists
    common: appCommon
    identity: {
      id: webIdentity.outputs.id
      clientId: webIdentity.outputs.clientId
    }
    minReplicas: stage.webMinReplicas
    maxReplicas: stage.webMaxReplicas
    jwtSecretName: empty(authAuthority) ? secretNames.jwtSigningKey : ''
    authAuthority: authAuthority
    authAudience: authAudience
    authIssuer: authIssuer
    gatewayInternalUrl: gateway.outputs.internalUrl
    gatewayPublicUrl: gateway.outputs.uri
  }
  // Container Apps resolves the Key Vault references at creation: the secrets and the app's access must exist.
  dependsOn: [
    secretAccess
  ]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: environmentName
    alertEmail: alertEmail
    appInsightsId: monitoring.outputs.appInsightsId
    gatewayUri: gateway.outputs.uri
    availabilityTestSeconds: stage.availabilityTestSeconds
    gatewayAppId: gateway.outputs.id
    gatewayMinReplicas: stage.gatewayMinReplicas
    ingestorAppId: ingestor.outputs.id
    ingestorReplicas: ingestor.outputs.replicas
    webAppId: web.outputs.id
  }
}

// azd reads these into the environment (.azure/<env>/.env); none of them is a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output AZURE_CONTAINER_APPS_ENVIRONMENT_ID string = containerAppsEnvironment.outputs.id
output AZURE_CONTAINER_APPS_ENVIRONMENT_NAME string = containerAppsEnvironment.outputs.name
output AZURE_CONTAINER_APPS_ENVIRONMENT_DEFAULT_DOMAIN string = containerAppsEnvironment.outputs.defaultDomain
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_APPLICATION_INSIGHTS_NAME string = monitoring.outputs.appInsightsName
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.logAnalyticsName
output AZURE_ASPIRE_DASHBOARD_URL string = containerAppsEnvironment.outputs.aspireDashboardUrl
output AZURE_REDIS_HOST string = redis.outputs.hostName
output STOCKSTREAM_ENVIRONMENT string = environmentType
output SERVICE_GATEWAY_NAME string = gateway.outputs.name
output SERVICE_GATEWAY_URI string = gateway.outputs.uri
output SERVICE_GATEWAY_WEBSOCKET_URI string = gateway.outputs.webSocketUri
output SERVICE_INGESTOR_NAME string = ingestor.outputs.name
output SERVICE_WEB_NAME string = web.outputs.name
output SERVICE_WEB_URI string = web.outputs.uri
