#include "common/trace_context.hpp"

#include <gtest/gtest.h>

namespace orders {
namespace {

constexpr const char* kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContext, ContinuesAValidTraceWithASpanOfItsOwn) {
  RandomIdGenerator ids;
  const auto context = continueTrace(kParent, "congo=t61rcWkgMzE", ids);
  EXPECT_EQ(context.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(context.parentSpanId, "00f067aa0ba902b7");
  EXPECT_EQ(context.spanId.size(), 16u);
  EXPECT_NE(context.spanId, context.parentSpanId);
  EXPECT_EQ(context.flags, 1);
  EXPECT_EQ(context.traceState, "congo=t61rcWkgMzE");
  EXPECT_EQ(context.traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-" + context.spanId + "-01");
  EXPECT_TRUE(parseTraceparent(context.traceparent()));
}

TEST(TraceContext, StartsANewTraceForAnythingElse) {
  RandomIdGenerator ids;
  for (const char* bad : {"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
                          "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}) {
    EXPECT_FALSE(parseTraceparent(bad)) << bad;
    const auto context = continueTrace(std::string_view(bad), "k=v", ids);
    EXPECT_EQ(context.traceId.size(), 32u) << bad;
    EXPECT_TRUE(context.parentSpanId.empty()) << bad;
    EXPECT_TRUE(context.traceState.empty()) << bad;  // a tracestate without its parent is dropped
  }
  // A future version is read by its first four fields.
  EXPECT_TRUE(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"));
  const auto fresh = continueTrace(std::nullopt, std::nullopt, ids);
  EXPECT_TRUE(parseTraceparent(fresh.traceparent())) << fresh.traceparent();
}

TEST(TraceContext, AChildSpanKeepsTheTraceAndPointsAtItsParent) {
  RandomIdGenerator ids;
  const auto request = continueTrace(kParent, "congo=t61rcWkgMzE", ids);
  const auto first = childSpan(request, ids);
  const auto second = childSpan(request, ids);
  EXPECT_EQ(first.traceId, request.traceId);
  EXPECT_EQ(first.parentSpanId, request.spanId);
  EXPECT_EQ(first.flags, request.flags);
  EXPECT_EQ(first.traceState, request.traceState);
  EXPECT_EQ(first.spanId.size(), 16u);
  EXPECT_NE(first.spanId, request.spanId);
  EXPECT_NE(first.spanId, second.spanId);
  EXPECT_TRUE(parseTraceparent(first.traceparent()));
}

TEST(TraceContext, ScopesSetTheThreadsCurrentContextAndNest) {
  RandomIdGenerator ids;
  EXPECT_EQ(currentTraceContext(), nullptr);
  const auto outer = continueTrace(std::nullopt, std::nullopt, ids);
  const auto inner = childSpan(outer, ids);
  {
    ScopedTraceContext outerScope(outer);
    EXPECT_EQ(currentTraceContext(), &outer);
    {
      ScopedTraceContext innerScope(inner);
      EXPECT_EQ(currentTraceContext(), &inner);
    }
    EXPECT_EQ(currentTraceContext(), &outer);
  }
  EXPECT_EQ(currentTraceContext(), nullptr);
}

}  // namespace
}  // namespace orders
