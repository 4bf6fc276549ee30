# Datadog SLOs and burn-rate monitors for teams on Datadog, from the same specs as everything
# else: `slo generate datadog-terraform app/slos` writes a self-contained module (SLOs, one
# monitor per burn tier, no-data monitors, maintenance corrections and downtimes) and this
# module instantiates it.
#
# Terraform module sources must be literal paths, so the generated module lives at a fixed
# place, generated/main.tf, written by infra/deploy/datadog-generate.sh and committed; CI checks
# it is up to date with the specs (the script's --check). Never edit it by hand.
#
# Metrics come from the Datadog Agent's OpenMetrics check on the service's admin listener with
# `namespace: fulfillment` (the aws module's datadog_api_key_secret_arn adds that agent).

module "slos" {
  source = "./generated"

  kura_slo_notify_page   = var.notify_page
  kura_slo_notify_ticket = var.notify_ticket
}
