// The JobStore contract suite: what every JobStore implementation
// (storage/job_store.hpp) must do, as value-parameterized tests over a
// factory. It knows nothing of any backend; an implementation's test file
// instantiates it, e.g.
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, JobStoreContract,
//       ::testing::Values(JobStoreBackend{"memory", [] { return make_memory_store(); }}),
//       job_store_backend_name);
//
// and links tests/job_store_contract.cpp. No sockets, no sleeps: lease expiry
// is reached with a ttl of 0 (a lease is live while now < expiry).
#pragma once

#include "storage/job_store.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace reelbatch {

/// Makes a fresh, empty store (its own database) on every call.
using JobStoreFactory = std::function<std::unique_ptr<JobStore>()>;

/// One backend to run the contract against.
struct JobStoreBackend {
  std::string name;  ///< test name suffix: letters, digits and '_' only
  JobStoreFactory make;
};

/// gtest's printer for a backend: its name.
inline void PrintTo(const JobStoreBackend& b, std::ostream* os) { *os << b.name; }

/// Names instantiated tests after JobStoreBackend::name.
inline std::string job_store_backend_name(const ::testing::TestParamInfo<JobStoreBackend>& info) {
  return info.param.name;
}

/// The fixture: `store()` is a fresh store from the backend's factory.
class JobStoreContract : public ::testing::TestWithParam<JobStoreBackend> {
 protected:
  void SetUp() override {
    store_ = GetParam().make();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override { store_.reset(); }
  JobStore& store() { return *store_; }

 private:
  std::unique_ptr<JobStore> store_;
};

}  // namespace reelbatch
