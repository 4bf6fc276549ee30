variable "notify_page" {
  description = "Datadog notification handles for page-severity SLO alerts (fast burns), e.g. \"@pagerduty-fulfillment\"."
  type        = string
}

variable "notify_ticket" {
  description = "Datadog notification handles for ticket-severity SLO alerts (slow burns), e.g. \"@slack-fulfillment-alerts\"."
  type        = string
}
