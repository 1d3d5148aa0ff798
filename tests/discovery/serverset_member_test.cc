#include "discovery/serverset_member.h"

#include <gtest/gtest.h>

namespace canarymesh {
namespace {

constexpr const char* kFinagleExample =
    R"({"serviceEndpoint":{"host":"10.0.0.3","port":9090},)"
    R"("additionalEndpoints":{"http":{"host":"10.0.0.3","port":8080}},)"
    R"("status":"ALIVE","shard":0,"metadata":{"version":"v2"}})";

TEST(ServerSetMemberTest, ParsesTheFinagleExample) {
  auto member = ParseServerSetMember(kFinagleExample);
  ASSERT_TRUE(member.ok()) << member.status().message();
  EXPECT_EQ(member->service_endpoint.host, "10.0.0.3");
  EXPECT_EQ(member->service_endpoint.port, 9090);
  ASSERT_EQ(member->additional_endpoints.count("http"), 1u);
  EXPECT_EQ(member->additional_endpoints.at("http").port, 8080);
  EXPECT_EQ(member->status, MemberStatus::kAlive);
  ASSERT_TRUE(member->shard.has_value());
  EXPECT_EQ(*member->shard, 0);
  EXPECT_EQ(member->metadata.at("version"), "v2");
}

TEST(ServerSetMemberTest, ShardAndMetadataAndAdditionalEndpointsAreOptional) {
  auto member =
      ParseServerSetMember(R"({"serviceEndpoint":{"host":"h","port":1},"status":"STARTING"})");
  ASSERT_TRUE(member.ok()) << member.status().message();
  EXPECT_FALSE(member->shard.has_value());
  EXPECT_TRUE(member->metadata.empty());
  EXPECT_TRUE(member->additional_endpoints.empty());
  EXPECT_EQ(member->status, MemberStatus::kStarting);
}

TEST(ServerSetMemberTest, EveryStatusNameRoundTrips) {
  for (const char* name : {"DEAD", "STARTING", "ALIVE", "STOPPING", "STOPPED", "WARNING"}) {
    auto status = ParseMemberStatus(name);
    ASSERT_TRUE(status.ok()) << name;
    EXPECT_STREQ(MemberStatusName(status.value()), name);
  }
  EXPECT_FALSE(ParseMemberStatus("alive").ok());
  EXPECT_FALSE(ParseMemberStatus("").ok());
}

struct BadCase {
  const char* json;
  const char* message_part;
};

TEST(ServerSetMemberTest, BadInputIsAnErrorNamingTheProblem) {
  const BadCase cases[] = {
      {"", "not valid JSON"},
      {"{not json", "not valid JSON"},
      {"[1,2]", "expected a JSON object"},
      {R"({"status":"ALIVE"})", "serviceEndpoint: missing"},
      {R"({"serviceEndpoint":{"port":1},"status":"ALIVE"})", "serviceEndpoint.host"},
      {R"({"serviceEndpoint":{"host":"","port":1},"status":"ALIVE"})", "serviceEndpoint.host"},
      {R"({"serviceEndpoint":{"host":"h"},"status":"ALIVE"})", "serviceEndpoint.port"},
      {R"({"serviceEndpoint":{"host":"h","port":"80"},"status":"ALIVE"})", "serviceEndpoint.port"},
      {R"({"serviceEndpoint":{"host":"h","port":0},"status":"ALIVE"})", "outside 1..65535"},
      {R"({"serviceEndpoint":{"host":"h","port":70000},"status":"ALIVE"})", "outside 1..65535"},
      {R"({"serviceEndpoint":{"host":"h","port":-5},"status":"ALIVE"})", "outside 1..65535"},
      {R"({"serviceEndpoint":{"host":"h","port":1.5},"status":"ALIVE"})", "serviceEndpoint.port"},
      {R"({"serviceEndpoint":{"host":"h","port":1}})", "status"},
      {R"({"serviceEndpoint":{"host":"h","port":1},"status":"HAPPY"})", "'HAPPY'"},
      {R"({"serviceEndpoint":{"host":"h","port":1},"status":"ALIVE","shard":"x"})", "shard"},
      {R"({"serviceEndpoint":{"host":"h","port":1},"status":"ALIVE","shard":9999999999})", "int32"},
      {R"({"serviceEndpoint":{"host":"h","port":1},"status":"ALIVE","metadata":[]})", "metadata"},
      {R"({"serviceEndpoint":{"host":"h","port":1},"status":"ALIVE",)"
       R"("additionalEndpoints":{"http":{"host":"h","port":99999}}})",
       "additionalEndpoints.http.port"},
      {R"({"serviceEndpoint":{"host":"h","port":1},"status":"ALIVE","additionalEndpoints":3})",
       "additionalEndpoints"}};
  for (const BadCase& c : cases) {
    auto member = ParseServerSetMember(c.json);
    ASSERT_FALSE(member.ok()) << c.json;
    EXPECT_EQ(member.status().code(), Status::Code::kInvalidArgument) << c.json;
    EXPECT_NE(member.status().message().find(c.message_part), std::string::npos)
        << c.json << " -> " << member.status().message();
  }
}

TEST(ServerSetMemberTest, OversizedDataIsRejectedWithoutParsing) {
  std::string huge(100 * 1024, '[');
  auto member = ParseServerSetMember(huge);
  ASSERT_FALSE(member.ok());
  EXPECT_NE(member.status().message().find("bytes"), std::string::npos);
}

TEST(ServerSetMemberTest, DeepNestingAndBinaryGarbageAreErrorsNotCrashes) {
  EXPECT_FALSE(ParseServerSetMember(std::string(60000, '[')).ok());
  EXPECT_FALSE(ParseServerSetMember(std::string("\xff\xfe\x00\x01", 4)).ok());
  EXPECT_FALSE(
      ParseServerSetMember("{\"serviceEndpoint\":{\"host\":\"\xff\",\"port\":1},\"status\":1}")
          .ok());
}

TEST(ServerSetMemberTest, NonStringMetadataValuesAreIgnored) {
  auto member = ParseServerSetMember(R"({"serviceEndpoint":{"host":"h","port":1},"status":"ALIVE",)"
                                     R"("metadata":{"version":"v3","weight":5,"zone":null}})");
  ASSERT_TRUE(member.ok()) << member.status().message();
  EXPECT_EQ(member->metadata.size(), 1u);
  EXPECT_EQ(member->metadata.at("version"), "v3");
}

TEST(ServerSetMemberTest, SerializeThenParseGivesTheSameMember) {
  ServerSetMember member;
  member.service_endpoint = {"10.1.2.3", 9090};
  member.additional_endpoints["http"] = {"10.1.2.3", 8080};
  member.additional_endpoints["admin"] = {"10.1.2.3", 9990};
  member.status = MemberStatus::kAlive;
  member.shard = 7;
  member.metadata["version"] = "v2";
  std::string text = SerializeServerSetMember(member);
  auto parsed = ParseServerSetMember(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message() << " in " << text;
  EXPECT_EQ(parsed.value(), member);
  EXPECT_NE(text.find(R"("serviceEndpoint":{"host":"10.1.2.3","port":9090})"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("status":"ALIVE")"), std::string::npos) << text;
}

TEST(ServerSetMemberTest, SerializeOmitsUnsetShardAndMetadataButKeepsAdditionalEndpoints) {
  ServerSetMember member;
  member.service_endpoint = {"h", 1};
  std::string text = SerializeServerSetMember(member);
  EXPECT_EQ(text.find("shard"), std::string::npos) << text;
  EXPECT_EQ(text.find("metadata"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("additionalEndpoints":{})"), std::string::npos) << text;
}

TEST(ServerSetMemberTest, SelectEndpointByName) {
  auto member = ParseServerSetMember(kFinagleExample);
  ASSERT_TRUE(member.ok());
  auto service = SelectEndpoint(member.value(), "");
  ASSERT_TRUE(service.ok());
  EXPECT_EQ(service->port, 9090);
  auto http = SelectEndpoint(member.value(), "http");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->port, 8080);
  auto thrift = SelectEndpoint(member.value(), "thrift");
  ASSERT_FALSE(thrift.ok());
  EXPECT_NE(thrift.status().message().find("'thrift'"), std::string::npos);
}

}  // namespace
}  // namespace canarymesh
