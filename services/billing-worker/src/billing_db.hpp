#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace paperboy::billing {

/// One vendor's billing for one day, a row of a billing sheet.
struct VendorBilling {
  std::int64_t vendor_id = 0;
  std::string vendor_name;
  std::int64_t amount_cents = 0;
};

/// The newsstand database as the billing worker uses it (services/newsstand/schema.sql): opened
/// once, every statement prepared once. The app writes to the same file, so it is in WAL mode
/// (readers never wait for a writer) and a writer that finds it locked retries for a while
/// before failing. Every failure throws std::runtime_error with SQLite's message.
class BillingDb {
 public:
  /// Opens an existing database read-write (it is never created here: the app or the generator
  /// made it from schema.sql).
  explicit BillingDb(const std::string& path);
  ~BillingDb();
  BillingDb(const BillingDb&) = delete;
  BillingDb& operator=(const BillingDb&) = delete;

  /// The sum of the payables dated from `from` to `to`, both included (YYYY-MM-DD).
  std::int64_t payable_cents(std::string_view from, std::string_view to);

  /// Each vendor's total billing on `date`, ordered by vendor id.
  std::vector<VendorBilling> billings_on(std::string_view date);

  /// Sets billing-sheet job `job` done with `csv`, making its row if the app's is not there.
  void finish_sheet(std::string_view job, std::string_view date, std::string_view csv);
  /// Sets billing-sheet job `job` failed with `error`, making its row if need be.
  void fail_sheet(std::string_view job, std::string_view date, std::string_view error);

 private:
  struct StatementDeleter {
    void operator()(sqlite3_stmt* statement) const;
  };
  using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

  Statement prepare(std::string_view sql);
  void execute(std::string_view sql);
  void bind_text(sqlite3_stmt* statement, int index, std::string_view text);
  void record_sheet(std::string_view job, std::string_view date, std::string_view state,
                    std::string_view csv, std::string_view error);
  [[noreturn]] void fail(std::string_view what);

  sqlite3* db_ = nullptr;
  Statement sum_payables_;
  Statement billings_on_;
  Statement record_sheet_;
};

}  // namespace paperboy::billing
