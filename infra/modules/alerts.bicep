// Azure Monitor metric alerts on the container apps, all routed to one action group.
// AVM equivalent: br/public:avm/res/insights/action-group + br/public:avm/res/insights/metric-alert.
import { resourceTags } from 'shared.bicep'

param tags resourceTags

@description('Prefix of the alert and action group names (the azd environment name).')
param namePrefix string

@description('E-mail receiver for the action group; empty leaves it without receivers (wire it up later).')
param alertEmail string = ''

param gatewayAppId string
param gatewayMinReplicas int
param ingestorAppId string
param ingestorReplicas int
param webAppId string

@description('Mean response time (ms) of the web front end above which an alert fires.')
param webLatencyThresholdMs int = 1000

var metricNamespace = 'Microsoft.App/containerApps'

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'stockstream'
    enabled: true
    emailReceivers: empty(alertEmail)
      ? []
      : [
          {
            name: 'on-call'
            emailAddress: alertEmail
            useCommonAlertSchema: true
          }
        ]
  }
}

var apps = [
  {
    key: 'gateway'
    id: gatewayAppId
    minReplicas: gatewayMinReplicas
    hasIngress: true
  }
  {
    key: 'ingestor'
    id: ingestorAppId
    minReplicas: ingestorReplicas
    hasIngress: false
  }
  {
    key: 'web'
    id: webAppId
    minReplicas: 1
    hasIngress: true
  }
]

// Crash loops: liveness failures or the process dying.
resource restarts 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for app in apps: {
    name: 'alert-${namePrefix}-${app.key}-restarts'
    location: 'global'
    tags: tags
    properties: {
      description: 'StockStream ${app.key}: more than 3 container restarts in 15 minutes.'
      severity: 2
      enabled: true
      scopes: [
        app.id
      ]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT15M'
      autoMitigate: true
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: 'restart-count'
            metricNamespace: metricNamespace
            metricName: 'RestartCount'
            operator: 'GreaterThan'
            threshold: 3
            timeAggregation: 'Total'
          }
        ]
      }
      actions: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
]

// Fewer replicas than the floor: the gateway loses redundancy, the ingestor its standby leader.
resource replicas 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for app in apps: {
    name: 'alert-${namePrefix}-${app.key}-replicas'
    location: 'global'
    tags: tags
    properties: {
      description: 'StockStream ${app.key}: fewer than ${app.minReplicas} replicas for 10 minutes.'
      severity: 1
      enabled: true
      scopes: [
        app.id
      ]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT10M'
      autoMitigate: true
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: 'replica-count'
            metricNamespace: metricNamespace
            metricName: 'Replicas'
            operator: 'LessThan'
            threshold: app.minReplicas
            timeAggregation: 'Minimum'
          }
        ]
      }
      actions: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
]

// Server errors seen by the ingress (the ingestor has none).
resource serverErrors 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for app in filter(apps, a => a.hasIngress): {
    name: 'alert-${namePrefix}-${app.key}-5xx'
    location: 'global'
    tags: tags
    properties: {
      description: 'StockStream ${app.key}: more than 20 responses with a 5xx status in 5 minutes.'
      severity: 2
      enabled: true
      scopes: [
        app.id
      ]
      evaluationFrequency: 'PT1M'
      windowSize: 'PT5M'
      autoMitigate: true
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: 'requests-5xx'
            metricNamespace: metricNamespace
            metricName: 'Requests'
            dimensions: [
              {
                name: 'statusCodeCategory'
                operator: 'Include'
                values: [
                  '5xx'
                ]
              }
            ]
            operator: 'GreaterThan'
            threshold: 20
            timeAggregation: 'Total'
          }
        ]
      }
      actions: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
]

// Latency of the web front end. Not on the gateway: there a "request" is a WebSocket that lives for hours,
// so its response time measures connection lifetime; gateway latency is watched through its own metrics.
resource webLatency 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-${namePrefix}-web-latency'
  location: 'global'
  tags: tags
  properties: {
    description: 'StockStream web: mean response time above ${webLatencyThresholdMs} ms for 10 minutes.'
    severity: 3
    enabled: true
    scopes: [
      webAppId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT10M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'response-time'
          metricNamespace: metricNamespace
          metricName: 'ResponseTime'
          // A preview platform metric: don't fail the deployment if the region does not list it yet.
          skipMetricValidation: true
          operator: 'GreaterThan'
          threshold: webLatencyThresholdMs
          timeAggregation: 'Average'
        }
      ]
    }
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

output actionGroupId string = actionGroup.id
