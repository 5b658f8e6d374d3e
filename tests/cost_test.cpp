// Issue 9, pure parts: prices (configured, documented, learned), totals per
// unit, budget arithmetic, wall time, the [prices] config keys, and the
// store's credit ledger on an in-memory database. No sockets, no sleeping.
#include "config/config.hpp"
#include "providers/registry.hpp"
#include "providers/seedance2/seedance2.hpp"
#include "providers/vibegen/vibegen.hpp"
#include "scheduler/cost.hpp"
#include "src/engine/credits.hpp"
#include "storage/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>

namespace reelbatch {
namespace {

JobSpec spec(std::string model, std::string res, std::optional<int> dur, std::optional<bool> audio = std::nullopt) {
  JobSpec s;
  s.id = "r";
  s.provider = "p";
  s.prompt = "x";
  s.model = std::move(model);
  s.resolution = std::move(res);
  s.duration_s = dur;
  s.audio = audio;
  return s;
}

PriceRule rule(std::string model, std::string res, std::optional<int> dur, bool per_second, double credits) {
  PriceRule r;
  r.key = model + "/" + res;
  r.model = std::move(model);
  r.resolution = normalize_price_resolution(res);
  r.duration_s = dur;
  r.per_second = per_second;
  r.credits = credits;
  return r;
}

TEST(CostPrices, ConfiguredRulePicksTheMostSpecific) {
  const std::vector<PriceRule> rules = {rule("*", "*", std::nullopt, true, 1.0),
                                        rule("seedance-2.0", "720p", std::nullopt, true, 0.23),
                                        rule("seedance-2.0", "720", 8, false, 1.5)};
  // per_second "model/res" beats "*/*"; "720p" and "720" are the same resolution.
  auto c = configured_price(rules, spec("seedance-2.0", "720", 6));
  ASSERT_TRUE(c);
  EXPECT_NEAR(c->first, 0.23 * 6, 1e-9);
  // The per_clip rule with the exact duration beats the per_second one.
  c = configured_price(rules, spec("seedance-2.0", "720P", 8));
  ASSERT_TRUE(c);
  EXPECT_DOUBLE_EQ(c->first, 1.5);
  // Wildcard fallback.
  c = configured_price(rules, spec("other", "1080p", 4));
  ASSERT_TRUE(c);
  EXPECT_DOUBLE_EQ(c->first, 4.0);
  // A per_second rule needs a duration.
  EXPECT_FALSE(configured_price(rules, spec("other", "1080p", std::nullopt)));
}

TEST(CostPrices, DocumentedTablesFollowTheDocuments) {
  // vibegen doc 7: 720p 10 s with audio = 86; defaults 480p / 5 s / silent = 15.
  auto v = vibegen::documented_price(spec("", "720p", 10, true));
  ASSERT_TRUE(v);
  EXPECT_DOUBLE_EQ(v->credits, 86);
  v = vibegen::documented_price(spec("", "", std::nullopt));
  ASSERT_TRUE(v);
  EXPECT_DOUBLE_EQ(v->credits, 15);
  EXPECT_FALSE(vibegen::documented_price(spec("", "720p", 7)));
  // seedance2 计费说明: 3.312 per second × 8 = 26.50 (the document's example);
  // defaults seedance-2.0 / 720p / 5 s = 9.
  auto s = seedance2::documented_price(spec("seedance-2.0-fast", "1080p", 8));
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->credits, 26.5);
  s = seedance2::documented_price(spec("", "", std::nullopt));
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->credits, 9.0);
}

TEST(CostPrices, EstimateOrderIsConfiguredDocumentedLearnedUnknown) {
  const std::vector<PriceRule> rules = {rule("m", "720p", std::nullopt, true, 2.0)};
  const DocumentedPrice doc{10, "doc 7"};
  LearnedCost l;
  l.model = "m";
  l.resolution = "720";
  l.duration_s = 5;
  l.samples = 3;
  l.mean = 9;
  l.min = 8;
  l.max = 11;
  const std::vector<LearnedCost> learned{l};
  auto e = estimate_cost(spec("m", "720p", 5), rules, doc, &learned[0], "u");
  EXPECT_EQ(e.source, CostSource::configured);
  EXPECT_DOUBLE_EQ(*e.credits, 10.0);
  e = estimate_cost(spec("m", "720p", 5), {}, doc, &learned[0], "u");
  EXPECT_EQ(e.source, CostSource::documented);
  EXPECT_EQ(e.basis, "doc 7");
  e = estimate_cost(spec("m", "720p", 5), {}, std::nullopt, find_learned(learned, spec("m", "720p", 5)), "u");
  EXPECT_EQ(e.source, CostSource::learned);
  EXPECT_EQ(e.describe_source(), "learned from 3 tasks");
  EXPECT_DOUBLE_EQ(e.low, 8);
  EXPECT_DOUBLE_EQ(e.high, 11);
  EXPECT_EQ(find_learned(learned, spec("m", "720p", 6)), nullptr);
  e = estimate_cost(spec("m", "720p", 6), {}, std::nullopt, nullptr, "u");
  EXPECT_EQ(e.source, CostSource::unknown);
  EXPECT_FALSE(e.credits);
  EXPECT_EQ(e.unit, "u");
}

TEST(CostPrices, LearnedGroupsMergeUnderTheProfileDefaults) {
  JobDefaults d;
  d.model = "seedance-2.0";
  d.resolution = "720";
  d.duration_s = 5;
  LearnedCost a;  // stored without model / resolution / duration: the defaults
  a.samples = 2;
  a.mean = 1.0;
  a.min = 0.9;
  a.max = 1.1;
  LearnedCost b;
  b.model = "seedance-2.0";
  b.resolution = "720p";
  b.duration_s = 5;
  b.samples = 2;
  b.mean = 2.0;
  b.min = 1.8;
  b.max = 2.2;
  b.generation_samples = 1;
  b.mean_generation_s = 30;
  const auto m = merge_learned({a, b}, d);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].samples, 4);
  EXPECT_DOUBLE_EQ(m[0].mean, 1.5);
  EXPECT_DOUBLE_EQ(m[0].min, 0.9);
  EXPECT_DOUBLE_EQ(m[0].max, 2.2);
  EXPECT_EQ(m[0].generation_samples, 1);
}

TEST(CostTotals, NeverAddAcrossUnits) {
  std::map<std::string, CostTotal> t;
  CostEstimate a;
  a.unit = "juhuo credits";
  a.credits = a.low = a.high = 1.5;
  a.source = CostSource::configured;
  CostEstimate b;
  b.unit = "vibegen credits";
  b.credits = b.low = b.high = 86;
  b.source = CostSource::documented;
  CostEstimate u;
  u.unit = "juhuo credits";
  add_estimate(t, a);
  add_estimate(t, a);
  add_estimate(t, b);
  add_estimate(t, u);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_DOUBLE_EQ(t["juhuo credits"].credits, 3.0);
  EXPECT_EQ(t["juhuo credits"].rows, 3);
  EXPECT_EQ(t["juhuo credits"].unknown_rows, 1);
  EXPECT_EQ(t["juhuo credits"].describe_sources(), "configured + unknown");
  EXPECT_DOUBLE_EQ(t["vibegen credits"].credits, 86.0);
}

TEST(CostBudget, ReservationArithmetic) {
  std::vector<BudgetLimit> limits = {{"credit_cap", 100, {60, 30}}, {"daily_credit_cap", 20, {10, 5}}};
  // The daily cap: 10 + 5 + 10 = 25 > 20.
  const auto daily = check_budget(10, limits, "u");
  EXPECT_FALSE(daily.fits);
  EXPECT_EQ(daily.blocking, &limits[1]);
  limits[1].cap = 1000;
  // 60 + 30 + 10 = 100 fits exactly; 10.01 does not.
  EXPECT_TRUE(check_budget(10, limits, "u").fits);
  const auto v = check_budget(10.01, limits, "u");
  EXPECT_FALSE(v.fits);
  EXPECT_EQ(v.blocking, &limits[0]);
  EXPECT_EQ(v.reason, "waiting for budget: credit_cap 100 u: 60 spent + 30 reserved + 10.01 for this row would pass it");
  // A cap already passed blocks even an unknown (0) price; an exact hit does not.
  EXPECT_TRUE(check_budget(0, {{"c", 90, {60, 30}}}, "u").fits);
  EXPECT_FALSE(check_budget(0, {{"c", 89, {60, 30}}}, "u").fits);
  // No caps: always fits.
  EXPECT_TRUE(check_budget(1e9, {}, "u").fits);
  // Binary fractions of cents do not tip an exact sum over.
  EXPECT_TRUE(check_budget(0.3, {{"c", 0.6, {0.1 + 0.2, 0}}}, "u").fits);
}

TEST(CostBudget, UtcDayAndWallTime) {
  EXPECT_EQ(utc_day_start_ms(86400000LL * 3 + 5), 86400000LL * 3);
  EXPECT_EQ(utc_day_start_ms(-1), -86400000LL);
  using std::chrono::seconds;
  // 10 rows, 4 at once, 60/min, 100 s each: lanes bound 3 waves × 100 = 300 s.
  EXPECT_EQ(estimate_wall_time(10, 4, 60, seconds(100)), seconds(300));
  // 10 rows, 100 at once, 6/min: submits bound 9 × 10 s + 100 = 190 s.
  EXPECT_EQ(estimate_wall_time(10, 100, 6, seconds(100)), seconds(190));
  EXPECT_EQ(estimate_wall_time(0, 4, 60, seconds(100)), seconds(0));
  EXPECT_EQ(format_wall_time(seconds(3725)), "1h02m");
  EXPECT_EQ(format_credits(528), "528");
  EXPECT_EQ(format_credits(14.4), "14.4");
  EXPECT_EQ(format_credits(0.92), "0.92");
}

const char* kBase = R"(
[storage]
path = "s.db"
[output]
dir = "out"
[providers.j]
kind = "juhuo"
base_url = "http://127.0.0.1:1/juhuo"
api_key_env = "K"
)";

Config parse(const std::string& extra) {
  return parse_config(std::string(kBase) + extra, "/tmp/t.toml", [](const std::string&) {
    return std::optional<std::string>("sk-a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6");
  });
}

TEST(CostConfig, PricesCapsAndUnit) {
  const Config c = parse(R"(credit_unit = "CNY credits"
daily_credit_cap = 50
[providers.j.prices.per_second]
"seedance-2.0/480p" = 0.115
"*/720" = 0.23
[providers.j.prices.per_clip]
"seedance-2.0-fast/480/4s" = 0.4
)");
  const ProfileConfig& p = *c.profile("j");
  EXPECT_EQ(p.credit_unit, "CNY credits");
  EXPECT_EQ(p.daily_credit_cap, 50.0);
  ASSERT_EQ(p.prices.size(), 3u);
  EXPECT_EQ(credit_unit_of(p), "CNY credits");
  auto e = estimate_job_cost(p, spec("seedance-2.0", "480", 8), {});
  EXPECT_EQ(e.source, CostSource::configured);
  EXPECT_NEAR(*e.credits, 0.92, 1e-9);
  e = estimate_job_cost(p, spec("seedance-2.0-fast", "480", 4), {});
  EXPECT_DOUBLE_EQ(*e.credits, 0.4);
  // Without credit_unit: the kind's.
  EXPECT_EQ(credit_unit_of(*parse("").profile("j")), "juhuo credits");
}

TEST(CostConfig, BadPricesNameTheKey) {
  auto msg = [](const std::string& extra) {
    try {
      parse(extra);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg("[providers.j.prices.per_second]\n\"seedance-2.0\" = 1\n")
                .find("providers.j.prices.per_second.\"seedance-2.0\": key must be \"<model>/<resolution>\""),
            std::string::npos);
  EXPECT_NE(msg("[providers.j.prices.per_clip]\n\"m/720/x\" = 1\n").find("whole number of seconds"), std::string::npos);
  EXPECT_NE(msg("[providers.j.prices.per_clip]\n\"m/720/4\" = -1\n").find("must be a number of credits"),
            std::string::npos);
  EXPECT_NE(msg("[providers.j.prices]\nper_minute = {}\n").find("per_minute"), std::string::npos);
  EXPECT_NE(msg("daily_credit_cap = -2\n").find("providers.j.daily_credit_cap: must be a number >= 0"),
            std::string::npos);
}

// ---- the store's ledger ----------------------------------------------------------------

struct Ledger : ::testing::Test {
  SqliteJobStore s{":memory:"};
  std::int64_t batch = 0;
  JobRecord add(const std::string& key) {
    IngestRow r;
    r.spec = spec("m", "720p", 5);
    r.spec.id = key;
    r.spec.provider = "p";
    r.content_hash = key;
    r.file = "m.csv";
    r.line = 2;
    const auto res = s.ingest(batch, {r});
    return *s.job(res.job_ids.at(0));
  }
  SubmitIntent submit(JobRecord& j, double amount, double cap) {
    CreditRequest c;
    c.amount = amount;
    c.unit = "u";
    c.source = "configured";
    c.refuse = [cap, amount](const CreditUses& u) {
      return u.profile_settled + u.profile_reserved + amount > cap + kCreditEpsilon ? std::string("over") : std::string();
    };
    EventRecord e;
    e.kind = "state";
    j.state = JobState::submitting;
    auto r = s.begin_submit_reserving(j, JobState::pending, e, "p", 3, c);
    if (r.status != SubmitIntent::Status::recorded) j.state = JobState::pending;
    return r;
  }
  void SetUp() override { batch = s.ensure_batch("b", "/m.csv", "/out/b").id; }
};

TEST_F(Ledger, ReserveSettleReleaseAndRefuse) {
  auto a = add("a"), b = add("b"), c = add("c");
  EXPECT_EQ(submit(a, 4, 10).status, SubmitIntent::Status::recorded);
  EXPECT_EQ(submit(b, 4, 10).status, SubmitIntent::Status::recorded);
  // 8 reserved + 4 > 10: refused, nothing written (no attempt, state unchanged).
  const auto refused = submit(c, 4, 10);
  EXPECT_EQ(refused.status, SubmitIntent::Status::budget);
  EXPECT_EQ(refused.budget_reason, "over");
  EXPECT_EQ(s.job(c.id)->state, JobState::pending);
  EXPECT_EQ(s.attempt_counts(c.id).first, 0);
  auto u = s.credit_uses("p", batch, "u", 0);
  EXPECT_DOUBLE_EQ(u.profile_reserved, 8);
  EXPECT_DOUBLE_EQ(u.batch_reserved, 8);
  // a settles lower than reserved, b is released: c fits now.
  s.settle_credits(a.id, 3.5, "reported");
  s.settle_credits(a.id, 99, "reported");  // a second report (URL refresh) changes nothing
  s.release_credits(b.id);
  u = s.credit_uses("p", batch, "u", 0);
  EXPECT_DOUBLE_EQ(u.profile_settled, 3.5);
  EXPECT_DOUBLE_EQ(u.profile_reserved, 0);
  EXPECT_EQ(submit(c, 4, 10).status, SubmitIntent::Status::recorded);
  // Charged without a reported amount: the estimate stands as the cost.
  s.settle_credits(c.id, std::nullopt, "");
  u = s.credit_uses("p", batch, "u", 0);
  EXPECT_DOUBLE_EQ(u.profile_settled, 7.5);
  // The daily figures count only entries made since the day began.
  EXPECT_DOUBLE_EQ(s.credit_uses("p", batch, "u", now_ms() + 1000).day_settled, 0);
  // Batch figures are per unit.
  EXPECT_DOUBLE_EQ(s.credit_uses("p", batch, "other", 0).batch_settled, 0);
}

TEST_F(Ledger, BatchCapIsStoredAndResubmitReleasesTheEarlierReservation) {
  EXPECT_TRUE(s.set_batch_max_credits(batch, 12.5));
  EXPECT_FALSE(s.set_batch_max_credits(batch + 100, 1));
  EXPECT_EQ(s.batch(batch)->max_credits, 12.5);
  EXPECT_EQ(s.credit_uses("p", batch, "u", 0).batch_max_credits, 12.5);
  auto a = add("a");
  ASSERT_EQ(submit(a, 4, 100).status, SubmitIntent::Status::recorded);
  // The row is submitted again (its first task known failed and free): the
  // first reservation is released in the same transaction.
  JobRecord again = *s.job(a.id);
  again.state = JobState::pending;
  EventRecord e;
  e.kind = "state";
  ASSERT_TRUE(s.try_transition(again, JobState::submitting, e));
  ASSERT_EQ(submit(again, 4, 100).status, SubmitIntent::Status::recorded);
  EXPECT_DOUBLE_EQ(s.credit_uses("p", batch, "u", 0).profile_reserved, 4);
  EXPECT_TRUE(s.set_batch_max_credits(batch, std::nullopt));
  EXPECT_FALSE(s.batch(batch)->max_credits);
}

TEST_F(Ledger, LearnedCostsGroupFinishedTasks) {
  for (int i = 0; i < 3; ++i) {
    auto j = add("k" + std::to_string(i));
    j.state = JobState::downloading;
    j.cost = 1.0 + i;
    EventRecord e;
    e.kind = "state";
    ASSERT_TRUE(s.try_transition(j, JobState::pending, e));
  }
  const auto g = s.learned_costs("p");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].model, "m");
  EXPECT_EQ(g[0].resolution, "720p");
  EXPECT_EQ(g[0].duration_s, 5);
  EXPECT_EQ(g[0].samples, 3);
  EXPECT_DOUBLE_EQ(g[0].mean, 2.0);
  EXPECT_DOUBLE_EQ(g[0].min, 1.0);
  EXPECT_DOUBLE_EQ(g[0].max, 3.0);
  EXPECT_TRUE(s.learned_costs("other").empty());
}

}  // namespace
}  // namespace reelbatch
