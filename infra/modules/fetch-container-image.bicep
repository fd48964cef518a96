// The image a container app runs now, so that re-provisioning keeps what `azd deploy` put there.
// azd sets SERVICE_<NAME>_RESOURCE_EXISTS=true once the app exists.
param exists bool
param name string

resource existingApp 'Microsoft.App/containerApps@2025-01-01' existing = if (exists) {
  name: name
}

output image string = exists ? existingApp!.properties.template.containers[0].image : ''
