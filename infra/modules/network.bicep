// Virtual network: the Container Apps infrastructure subnet (delegated, with an NSG) and a subnet for
// private endpoints (Redis, Key Vault). AVM equivalent: br/public:avm/res/network/virtual-network +
// br/public:avm/res/network/network-security-group.
import { resourceTags } from 'shared.bicep'

param location string
param tags resourceTags
param name string

param addressPrefix string = '10.40.0.0/16'

@description('Workload-profiles environments need at least a /27; a /23 leaves room to scale out.')
param infrastructureSubnetPrefix string = '10.40.0.0/23'
param privateEndpointSubnetPrefix string = '10.40.2.0/27'

resource infrastructureNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-${name}-aca'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'allow-https-inbound'
        properties: {
          description: 'Public ingress of the gateway (WebSockets over 443) and the web front end.'
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'Internet'
          sourcePortRange: '*'
          destinationAddressPrefix: infrastructureSubnetPrefix
          destinationPortRanges: [
            '443'
            '80'
          ]
        }
      }
      {
        name: 'allow-load-balancer-inbound'
        properties: {
          description: 'Azure Load Balancer health probes.'
          priority: 110
          direction: 'Inbound'
          access: 'Allow'
          protocol: '*'
          sourceAddressPrefix: 'AzureLoadBalancer'
          sourcePortRange: '*'
          destinationAddressPrefix: infrastructureSubnetPrefix
          destinationPortRange: '*'
        }
      }
    ]
  }
}

resource privateEndpointNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-${name}-pe'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'allow-redis-from-apps'
        properties: {
          description: 'Only the Container Apps subnet reaches Redis (TLS on 10000).'
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: infrastructureSubnetPrefix
          sourcePortRange: '*'
          destinationAddressPrefix: privateEndpointSubnetPrefix
          destinationPortRange: '10000'
        }
      }
      {
        name: 'allow-keyvault-from-apps'
        properties: {
          description: 'Only the Container Apps subnet reaches Key Vault (HTTPS) to resolve secret references.'
          priority: 110
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: infrastructureSubnetPrefix
          sourcePortRange: '*'
          destinationAddressPrefix: privateEndpointSubnetPrefix
          destinationPortRange: '443'
        }
      }
      {
        name: 'deny-vnet-inbound'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: privateEndpointSubnetPrefix
          destinationPortRange: '*'
        }
      }
    ]
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'snet-container-apps'
        properties: {
          addressPrefix: infrastructureSubnetPrefix
          networkSecurityGroup: {
            id: infrastructureNsg.id
          }
          delegations: [
            {
              name: 'container-apps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'snet-private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: privateEndpointNsg.id
          }
          // NSG rules apply to private endpoints only with network policies enabled.
          privateEndpointNetworkPolicies: 'Enabled'
        }
      }
    ]
  }
}

output virtualNetworkId string = vnet.id
output infrastructureSubnetId string = vnet.properties.subnets[0].id
output privateEndpointSubnetId string = vnet.properties.subnets[1].id
