// Alerts that reach people. One action group, which always has a receiver: the subscription's Owners (an Azure
// Resource Manager role receiver) plus the on-call e-mail, which is a required parameter; 'none' is the explicit
// opt-out of the e-mail (Owners are still told). Then:
// - platform metric alerts on the container apps (restarts, replicas below the floor, 5xx, web latency);
// - the SLOs of docs/slo.md as multi-window, multi-burn-rate log alerts over Application Insights (fast burn pages
//   at 14.4x over 1 h and 5 min; slow burn at 6x over 6 h and 30 min), the same objectives Prometheus
//   evaluates locally (monitoring/prometheus/rules/slo.yml);
// - the local alerts that have no platform metric (no ingestor leader, Redis unreachable), and a dead-man switch
//   that fires when a service's telemetry stops;
// - an availability test of the gateway from five regions, which also feeds the availability SLO.
// AVM equivalent: br/public:avm/res/insights/action-group, .../metric-alert, .../scheduled-query-rule, .../webtest.
import { resourceTags } from 'shared.bicep'

param location string
param tags resourceTags

@description('Prefix of the alert and action group names (the azd environment name).')
param namePrefix string

@minLength(1)
@description('On-call e-mail address; required. \'none\' explicitly opts out of e-mail: the subscription Owners still get every alert.')
param alertEmail string

param appInsightsId string
param gatewayAppId string
param gatewayMinReplicas int
@description('https://<gateway fqdn>: the availability test calls its /alive.')
param gatewayUri string

@description('Seconds between availability test runs from each location (billed per run: docs/deploy.md).')
@allowed([
  300
  600
  900
])
param availabilityTestSeconds int
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
    // Never empty: whoever owns the subscription is told even before anyone sets up on-call.
    armRoleReceivers: [
      {
        name: 'subscription-owners'
        // Owner (built-in role id).
        roleId: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635'
        useCommonAlertSchema: true
      }
    ]
    emailReceivers: alertEmail == 'none'
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

// The gateway's /alive through its public ingress, every 5 (15 in dev) minutes from five regions. A plain HTTPS check: the
// test cannot speak WebSocket, so the availability SLO also counts failed upgrades seen by the gateway itself.
resource gatewayAvailability 'Microsoft.Insights/webtests@2022-06-15' = {
  name: 'webtest-${namePrefix}-gateway'
  location: location
  tags: union(tags, {
    'hidden-link:${appInsightsId}': 'Resource'
  })
  kind: 'standard'
  properties: {
    SyntheticMonitorId: 'webtest-${namePrefix}-gateway'
    Name: 'gateway /alive'
    Enabled: true
    Frequency: availabilityTestSeconds
    Timeout: 30
    Kind: 'standard'
    RetryEnabled: true
    Locations: [
      { Id: 'emea-nl-ams-azr' }
      { Id: 'emea-gb-db3-azr' }
      { Id: 'us-va-ash-azr' }
      { Id: 'us-ca-sjc-azr' }
      { Id: 'apac-sg-sin-azr' }
    ]
    Request: {
      RequestUrl: '${gatewayUri}/alive'
      HttpVerb: 'GET'
      ParseDependentRequests: false
    }
    ValidationRules: {
      ExpectedHttpStatusCode: 200
      SSLCheck: true
      SSLCertRemainingLifetimeCheck: 7
    }
  }
}

// Log alerts over Application Insights. The queries are written out (not assembled) so that the compiled template
// shows exactly what runs; docs/slo.md explains each objective and its error budget.
var queryRules = [
  {
    key: 'slo-websocket-availability-fast-burn'
    severity: 1
    windowSize: 'PT1H'
    description: 'SLO websocket-availability: error budget burning 14.4x over 1 h and 5 min (2 % of the 30-day budget in an hour). Page.'
    dimension: ''
    runbook: 'docs/runbooks/WebSocketAvailabilityBudgetBurn.md'
    query: '''
let budget = 0.001; // SLO: 99.9 % of WebSocket endpoint checks succeed (docs/slo.md)
let errorRatio = (window: timespan) {
    union
        (availabilityResults
            | where timestamp > ago(window)
            | project bad = iff(tobool(success), 0, 1)),
        (requests
            | where timestamp > ago(window) and cloud_RoleName == 'gateway' and name endswith '/ws'
            | project bad = iff(toint(resultCode) >= 500, 1, 0))
    | summarize total = count(), bad = sum(bad)
    | project ratio = iff(total == 0, 0.0, todouble(bad) / total)
};
print longBurn = toscalar(errorRatio(1h)) / budget, shortBurn = toscalar(errorRatio(5m)) / budget
| where longBurn > 14.4 and shortBurn > 14.4
'''
  }
  {
    key: 'slo-websocket-availability-slow-burn'
    severity: 2
    windowSize: 'PT6H'
    description: 'SLO websocket-availability: error budget burning 6x over 6 h and 30 min (5 % of the 30-day budget in 6 hours).'
    dimension: ''
    runbook: 'docs/runbooks/WebSocketAvailabilityBudgetBurn.md'
    query: '''
let budget = 0.001; // SLO: 99.9 % of WebSocket endpoint checks succeed (docs/slo.md)
let errorRatio = (window: timespan) {
    union
        (availabilityResults
            | where timestamp > ago(window)
            | project bad = iff(tobool(success), 0, 1)),
        (requests
            | where timestamp > ago(window) and cloud_RoleName == 'gateway' and name endswith '/ws'
            | project bad = iff(toint(resultCode) >= 500, 1, 0))
    | summarize total = count(), bad = sum(bad)
    | project ratio = iff(total == 0, 0.0, todouble(bad) / total)
};
print longBurn = toscalar(errorRatio(6h)) / budget, shortBurn = toscalar(errorRatio(30m)) / budget
| where longBurn > 6 and shortBurn > 6
'''
  }
  {
    key: 'slo-delivery-latency-fast-burn'
    severity: 1
    windowSize: 'PT1H'
    description: 'SLO delivery-latency: error budget burning 14.4x over 1 h and 5 min (2 % of the 30-day budget in an hour). Page.'
    dimension: ''
    runbook: 'docs/runbooks/DeliveryLatencyBudgetBurn.md'
    query: '''
let budget = 0.01; // SLO: 99 % of minutes deliver with mean latency <= 250 ms (docs/slo.md)
let errorRatio = (window: timespan) {
    customMetrics
    | where timestamp > ago(window) and name == 'stockstream.gateway.delivery.latency'
    | summarize mean = sum(valueSum) / sum(valueCount) by bin(timestamp, 1m)
    | summarize minutes = count(), bad = countif(mean > 0.25)
    | project ratio = iff(minutes == 0, 0.0, todouble(bad) / minutes)
};
print longBurn = toscalar(errorRatio(1h)) / budget, shortBurn = toscalar(errorRatio(5m)) / budget
| where longBurn > 14.4 and shortBurn > 14.4
'''
  }
  {
    key: 'slo-delivery-latency-slow-burn'
    severity: 2
    windowSize: 'PT6H'
    description: 'SLO delivery-latency: error budget burning 6x over 6 h and 30 min (5 % of the 30-day budget in 6 hours).'
    dimension: ''
    runbook: 'docs/runbooks/DeliveryLatencyBudgetBurn.md'
    query: '''
let budget = 0.01; // SLO: 99 % of minutes deliver with mean latency <= 250 ms (docs/slo.md)
let errorRatio = (window: timespan) {
    customMetrics
    | where timestamp > ago(window) and name == 'stockstream.gateway.delivery.latency'
    | summarize mean = sum(valueSum) / sum(valueCount) by bin(timestamp, 1m)
    | summarize minutes = count(), bad = countif(mean > 0.25)
    | project ratio = iff(minutes == 0, 0.0, todouble(bad) / minutes)
};
print longBurn = toscalar(errorRatio(6h)) / budget, shortBurn = toscalar(errorRatio(30m)) / budget
| where longBurn > 6 and shortBurn > 6
'''
  }
  {
    key: 'slo-freshness-fast-burn'
    severity: 1
    windowSize: 'PT1H'
    description: 'SLO freshness: error budget burning 14.4x over 1 h and 5 min (2 % of the 30-day budget in an hour). Page.'
    dimension: 'source'
    runbook: 'docs/runbooks/FreshnessBudgetBurn.md'
    query: '''
// SLO per source: sim fresher than 10 s 99.9 % of the time, coingecko fresher than 300 s 99 % (docs/slo.md)
let objectives = datatable(source: string, maxAgeSeconds: long, budget: real) [
    'sim', 10, 0.001,
    'coingecko', 300, 0.01
];
let burn = (window: timespan) {
    customMetrics
    | where timestamp > ago(window) and name == 'stockstream.ingestor.source.last_success.timestamp'
    | extend source = tostring(customDimensions['source'])
    | summarize lastSuccess = max(valueMax), sampledAt = max(timestamp) by source, bin(timestamp, 1m)
    | join kind=inner objectives on source
    | extend age = datetime_diff('second', sampledAt, unixtime_seconds_todatetime(lastSuccess))
    | summarize minutes = count(), bad = countif(age > maxAgeSeconds) by source, budget
    | project source, burn = todouble(bad) / minutes / budget
};
burn(1h)
| join kind=inner (burn(5m) | project source, shortBurn = burn) on source
| project source, longBurn = burn, shortBurn
| where longBurn > 14.4 and shortBurn > 14.4
'''
  }
  {
    key: 'slo-freshness-slow-burn'
    severity: 2
    windowSize: 'PT6H'
    description: 'SLO freshness: error budget burning 6x over 6 h and 30 min (5 % of the 30-day budget in 6 hours).'
    dimension: 'source'
    runbook: 'docs/runbooks/FreshnessBudgetBurn.md'
    query: '''
// SLO per source: sim fresher than 10 s 99.9 % of the time, coingecko fresher than 300 s 99 % (docs/slo.md)
let objectives = datatable(source: string, maxAgeSeconds: long, budget: real) [
    'sim', 10, 0.001,
    'coingecko', 300, 0.01
];
let burn = (window: timespan) {
    customMetrics
    | where timestamp > ago(window) and name == 'stockstream.ingestor.source.last_success.timestamp'
    | extend source = tostring(customDimensions['source'])
    | summarize lastSuccess = max(valueMax), sampledAt = max(timestamp) by source, bin(timestamp, 1m)
    | join kind=inner objectives on source
    | extend age = datetime_diff('second', sampledAt, unixtime_seconds_todatetime(lastSuccess))
    | summarize minutes = count(), bad = countif(age > maxAgeSeconds) by source, budget
    | project source, burn = todouble(bad) / minutes / budget
};
burn(6h)
| join kind=inner (burn(30m) | project source, shortBurn = burn) on source
| project source, longBurn = burn, shortBurn
| where longBurn > 6 and shortBurn > 6
'''
  }
  {
    key: 'ingestor-no-leader'
    severity: 1
    windowSize: 'PT10M'
    description: 'No ingestor replica holds the publishing lease (local: IngestorNoLeader).'
    dimension: ''
    runbook: 'docs/runbooks/IngestorNoLeader.md'
    query: '''
customMetrics
| where timestamp > ago(5m) and name == 'stockstream.ingestor.leader'
| summarize leaders = max(valueMax) by cloud_RoleInstance
| summarize leaders = sum(leaders)
| where leaders < 1
'''
  }
  {
    key: 'redis-down'
    severity: 1
    windowSize: 'PT10M'
    description: 'No gateway or ingestor reaches Redis (local: RedisDown).'
    dimension: ''
    runbook: 'docs/runbooks/RedisDown.md'
    query: '''
customMetrics
| where timestamp > ago(5m) and name in ('stockstream.gateway.redis.up', 'stockstream.ingestor.redis.up')
| summarize up = max(valueMax) by cloud_RoleInstance
| summarize reporting = count(), reachable = countif(up > 0)
| where reporting > 0 and reachable == 0
'''
  }
  {
    key: 'dead-man-switch'
    severity: 0
    windowSize: 'PT15M'
    description: 'Dead-man switch: a service sent no telemetry for 10 minutes.'
    dimension: 'service'
    runbook: 'docs/runbooks/Watchdog.md'
    query: '''
// Dead-man switch: every service sends metrics at least once a minute. Silence means the services, the
// telemetry path or Application Insights itself is down; it fires on absence, which no other rule can see.
let expected = datatable(service: string) ['gateway', 'ingestor', 'web'];
let seen = customMetrics
    | where timestamp > ago(10m)
    | summarize samples = count() by service = cloud_RoleName;
expected
| join kind=leftouter seen on service
| where isnull(samples) or samples == 0
| project service
'''
  }
]

resource logAlerts 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [
  for rule in queryRules: {
    name: 'alert-${namePrefix}-${rule.key}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: 'StockStream ${rule.key}'
      description: rule.description
      severity: rule.severity
      enabled: true
      evaluationFrequency: 'PT5M'
      windowSize: rule.windowSize
      scopes: [
        appInsightsId
      ]
      targetResourceTypes: [
        'microsoft.insights/components'
      ]
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            dimensions: empty(rule.dimension)
              ? []
              : [
                  {
                    name: rule.dimension
                    operator: 'Include'
                    values: [
                      '*'
                    ]
                  }
                ]
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: [
          actionGroup.id
        ]
        customProperties: {
          runbook: rule.runbook
        }
      }
    }
  }
]

output actionGroupId string = actionGroup.id
