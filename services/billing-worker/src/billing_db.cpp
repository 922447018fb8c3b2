#include "billing_db.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace paperboy::billing {
namespace {

// How long a write waits for the app's write to end before failing with SQLITE_BUSY. Readers
// never wait in WAL mode, so only billing sheets can, and they are rare and small.
constexpr int busy_timeout_ms = 5000;

/// Resets a statement (and its bindings) when the scope that ran it ends, however it ends.
class Run {
 public:
  explicit Run(sqlite3_stmt* statement) : statement_(statement) {}
  ~Run() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

 private:
  sqlite3_stmt* statement_;
};

}  // namespace

void BillingDb::StatementDeleter::operator()(sqlite3_stmt* statement) const {
  sqlite3_finalize(statement);
}

BillingDb::BillingDb(const std::string& path) {
  const int opened = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
  if (opened != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(opened);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open database " + path + ": " + message);
  }
  try {
    sqlite3_busy_timeout(db_, busy_timeout_ms);
    execute("PRAGMA journal_mode = WAL");
    sum_payables_ = prepare(
        "SELECT COALESCE(SUM(amount_cents), 0) FROM payables "
        "WHERE billing_date BETWEEN ?1 AND ?2");
    billings_on_ = prepare(
        "SELECT v.id, v.name, SUM(p.amount_cents) FROM payables p "
        "JOIN vendors v ON v.id = p.vendor_id WHERE p.billing_date = ?1 "
        "GROUP BY v.id, v.name ORDER BY v.id");
    record_sheet_ = prepare(
        "INSERT INTO billing_sheets (job, billing_date, state, csv, error, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) "
        "ON CONFLICT (job) DO UPDATE SET billing_date = excluded.billing_date, "
        "state = excluded.state, csv = excluded.csv, error = excluded.error, "
        "updated_at = excluded.updated_at");
  } catch (...) {
    sum_payables_.reset();
    billings_on_.reset();
    record_sheet_.reset();
    sqlite3_close(db_);
    throw;
  }
}

BillingDb::~BillingDb() {
  sum_payables_.reset();
  billings_on_.reset();
  record_sheet_.reset();
  sqlite3_close(db_);
}

std::int64_t BillingDb::payable_cents(std::string_view from, std::string_view to) {
  Run run(sum_payables_.get());
  bind_text(sum_payables_.get(), 1, from);
  bind_text(sum_payables_.get(), 2, to);
  if (sqlite3_step(sum_payables_.get()) != SQLITE_ROW) fail("summing payables");
  return sqlite3_column_int64(sum_payables_.get(), 0);
}

std::vector<VendorBilling> BillingDb::billings_on(std::string_view date) {
  Run run(billings_on_.get());
  bind_text(billings_on_.get(), 1, date);
  std::vector<VendorBilling> rows;
  for (;;) {
    const int stepped = sqlite3_step(billings_on_.get());
    if (stepped == SQLITE_DONE) return rows;
    if (stepped != SQLITE_ROW) fail("reading a day's billings");
    VendorBilling row;
    row.vendor_id = sqlite3_column_int64(billings_on_.get(), 0);
    const auto* name = sqlite3_column_text(billings_on_.get(), 1);
    const auto name_size = static_cast<std::size_t>(sqlite3_column_bytes(billings_on_.get(), 1));
    row.vendor_name.assign(reinterpret_cast<const char*>(name), name_size);
    row.amount_cents = sqlite3_column_int64(billings_on_.get(), 2);
    rows.push_back(std::move(row));
  }
}

void BillingDb::finish_sheet(std::string_view job, std::string_view date, std::string_view csv) {
  record_sheet(job, date, "done", csv, {});
}

void BillingDb::fail_sheet(std::string_view job, std::string_view date, std::string_view error) {
  record_sheet(job, date, "failed", {}, error);
}

void BillingDb::record_sheet(std::string_view job, std::string_view date, std::string_view state,
                             std::string_view csv, std::string_view error) {
  auto* statement = record_sheet_.get();
  Run run(statement);
  bind_text(statement, 1, job);
  bind_text(statement, 2, date);
  bind_text(statement, 3, state);
  if (state == "done") {
    bind_text(statement, 4, csv);
  } else {
    bind_text(statement, 5, error);
  }
  if (sqlite3_step(statement) != SQLITE_DONE) fail("recording a billing sheet");
}

BillingDb::Statement BillingDb::prepare(std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &statement, nullptr) != SQLITE_OK)
    fail("preparing a statement");
  return Statement(statement);
}

void BillingDb::execute(std::string_view sql) {
  Statement statement = prepare(sql);
  int stepped = SQLITE_ROW;
  while (stepped == SQLITE_ROW) stepped = sqlite3_step(statement.get());
  if (stepped != SQLITE_DONE) fail(sql);
}

void BillingDb::bind_text(sqlite3_stmt* statement, int index, std::string_view text) {
  // No destructor (SQLITE_STATIC, whose macro is an old-style cast): every caller steps the
  // statement and resets it before the text it bound goes away. An empty view may have no data,
  // which SQLite would bind as NULL rather than as ''.
  const char* data = text.empty() ? "" : text.data();
  if (sqlite3_bind_text(statement, index, data, static_cast<int>(text.size()), nullptr) !=
      SQLITE_OK)
    fail("binding a parameter");
}

void BillingDb::fail(std::string_view what) {
  throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db_));
}

}  // namespace paperboy::billing
