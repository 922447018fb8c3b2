#include "billing_jobs.hpp"

#include <fmt/format.h>

#include "billing_date.hpp"
#include "flat_json.hpp"

namespace paperboy::billing {
namespace {

std::string error_reply(std::string_view why) {
  return "{\"error\": " + json_quote(why) + "}";
}

/// The date the message's "billing_date" names, or the reason there is none.
struct DateField {
  std::optional<BillingDate> date;
  std::string error;
};

DateField billing_date_of(const FlatObject& message) {
  const auto field = message.find("billing_date");
  if (field == message.end())
    return {std::nullopt, "billing_date is missing (a YYYY-MM-DD string)"};
  auto date = BillingDate::parse(field->second);
  if (!date)
    return {std::nullopt, "billing_date " + field->second + " is not a real YYYY-MM-DD date"};
  return {std::move(date), {}};
}

/// `field` as a CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
std::string csv_field(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string quoted = "\"";
  for (const char c : field) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

std::string billing_sheet_csv(const std::vector<VendorBilling>& rows, std::string_view date) {
  std::string csv = "vendor_id,vendor_name,billing_date,amount\n";
  for (const auto& row : rows) {
    csv += fmt::format("{},{},{},{}\n", row.vendor_id, csv_field(row.vendor_name), date,
                       format_cents(row.amount_cents));
  }
  return csv;
}

std::string sheet_event(std::string_view job, std::string_view state) {
  return "{\"job\": " + json_quote(job) + ", \"state\": " + json_quote(state) + "}";
}

}  // namespace

std::string format_cents(std::int64_t cents) {
  const auto magnitude =
      cents < 0 ? 0 - static_cast<std::uint64_t>(cents) : static_cast<std::uint64_t>(cents);
  return fmt::format("{}{}.{:02}", cents < 0 ? "-" : "", magnitude / 100, magnitude % 100);
}

std::string answer_payables(BillingDb& db, std::string_view request) {
  const auto message = parse_flat_object(request);
  if (!message) return error_reply("the request is not a flat JSON object");
  const auto field = billing_date_of(*message);
  if (!field.date) return error_reply(field.error);
  const auto& date = *field.date;
  const auto cents = db.payable_cents(date.first_of_year(), date.text());
  return "{\"billing_date\": \"" + date.text() + "\", \"total\": " + format_cents(cents) + "}";
}

SheetOutcome make_billing_sheet(BillingDb& db, std::string_view message) {
  const auto object = parse_flat_object(message);
  if (!object) return {{}, {}, "the job is not a flat JSON object"};
  const auto job = object->find("job");
  if (job == object->end() || job->second.empty()) return {{}, {}, "the job has no \"job\" id"};
  const auto field = billing_date_of(*object);
  if (!field.date) {
    const auto date_field = object->find("billing_date");
    db.fail_sheet(job->second, date_field == object->end() ? "" : date_field->second, field.error);
    return {job->second, sheet_event(job->second, "failed"), field.error};
  }
  const auto& date = field.date->text();
  db.finish_sheet(job->second, date, billing_sheet_csv(db.billings_on(date), date));
  return {job->second, sheet_event(job->second, "done"), {}};
}

}  // namespace paperboy::billing
