// The batch-retry selection shared by `reelbatch retry --batch` and the admin
// API's POST /v1/batches/{id}/retry body (src/app/service.hpp).
#include "src/app/service.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <stdexcept>

namespace reelbatch {
namespace {

RetrySelection parse(const char* body) { return parse_retry_selection(boost::json::parse(body).as_object()); }

TEST(RetrySelection, EmptyBodyTakesFailedAndCancelledWithoutResubmit) {
  const auto s = parse("{}");
  EXPECT_EQ(s.states, (std::vector<JobState>{JobState::failed, JobState::cancelled}));
  EXPECT_FALSE(s.resubmit);
}

TEST(RetrySelection, StatesAndResubmitAreRead) {
  const auto s = parse(R"({"states":["expired","failed","expired"],"resubmit":true})");
  EXPECT_EQ(s.states, (std::vector<JobState>{JobState::expired, JobState::failed}));
  EXPECT_TRUE(s.resubmit);
}

TEST(RetrySelection, BadMembersNameTheMember) {
  for (const char* bad : {R"({"states":[]})", R"({"states":"failed"})", R"({"states":["succeeded"]})",
                          R"({"states":["held"]})", R"({"states":[3]})", R"({"resubmit":"yes"})"}) {
    try {
      parse(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      const std::string m = e.what();
      EXPECT_TRUE(m.starts_with("states:") || m.starts_with("resubmit:")) << m;
    }
  }
}

}  // namespace
}  // namespace reelbatch
