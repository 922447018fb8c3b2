"""The newsstand's channels on paperboy (services/README.md)."""

PAYABLES = "/queue/newsstand/billing/payables"
SHEETS = "/queue/newsstand/billing/sheets"
MESSENGER = "/topic/newsstand/messenger"
TOTALS = "/topic/newsstand/totals"
SALES_QUOTA = "/topic/newsstand/sales/quota"
EVERY_EVENT = "/topic/newsstand/>"
EVENT_PREFIX = "/topic/newsstand/"
