// A user-assigned identity for one container app (each app has its own): pulls images, reads only that app's
// Key Vault secrets, signs in to Application Insights.
// AVM equivalent: br/public:avm/res/managed-identity/user-assigned-identity.
import { resourceTags } from 'shared.bicep'

param location string
param tags resourceTags
param name string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
