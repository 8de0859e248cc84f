#include "common/fields/value.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::fields {
namespace {

IpAddr ip(std::string_view text, bool allow_prefix = false) {
  IpAddr out;
  EXPECT_TRUE(parse_ip(text, out, allow_prefix)) << text;
  return out;
}

TEST(ValueTest, FieldTypeNames) {
  EXPECT_STREQ(field_type_name(FieldType::kString), "string");
  EXPECT_STREQ(field_type_name(FieldType::kPath), "path");
  EXPECT_STREQ(field_type_name(FieldType::kNumber), "number");
  EXPECT_STREQ(field_type_name(FieldType::kBool), "bool");
  EXPECT_STREQ(field_type_name(FieldType::kIpAddr), "ipaddr");
  EXPECT_STREQ(field_type_name(FieldType::kIpNet), "ipnet");
}

TEST(ValueTest, ParsesIpv4) {
  IpAddr a = ip("10.1.2.3");
  EXPECT_EQ(a.family, 4);
  EXPECT_EQ(a.prefix, 0);
  EXPECT_EQ(a.bytes[0], 10);
  EXPECT_EQ(a.bytes[1], 1);
  EXPECT_EQ(a.bytes[2], 2);
  EXPECT_EQ(a.bytes[3], 3);
  EXPECT_EQ(ip("0.0.0.0").family, 4);
  EXPECT_EQ(ip("255.255.255.255").bytes[3], 255);
}

TEST(ValueTest, ParsesIpv6) {
  IpAddr a = ip("::1");
  EXPECT_EQ(a.family, 6);
  EXPECT_EQ(a.bytes[15], 1);
  IpAddr b = ip("fe80::1:2");
  EXPECT_EQ(b.bytes[0], 0xfe);
  EXPECT_EQ(b.bytes[1], 0x80);
  EXPECT_EQ(ip("::ffff:10.0.0.1").family, 6);
}

TEST(ValueTest, ParsesNetworks) {
  IpAddr n = ip("10.0.0.0/8", true);
  EXPECT_EQ(n.family, 4);
  EXPECT_EQ(n.prefix, 8);
  EXPECT_EQ(ip("fe80::/10", true).prefix, 10);
  EXPECT_EQ(ip("0.0.0.0/0", true).prefix, 0);
  // A bare address parsed as a network is that single host.
  EXPECT_EQ(ip("10.1.2.3", true).prefix, 32);
  EXPECT_EQ(ip("::1", true).prefix, 128);
}

TEST(ValueTest, RejectsMalformedAddresses) {
  const char* bad[] = {"",
                       "10.0.0",
                       "10.0.0.0.1",
                       "256.0.0.1",
                       "1.2.3.4 ",
                       " 1.2.3.4",
                       "1..2.3",
                       "1.2.3.4.",
                       "a.b.c.d",
                       "1234.0.0.1",
                       "10.0.0.1/",
                       "10.0.0.1/33",
                       "10.0.0.1/-1",
                       "10.0.0.1/8x",
                       "::1/129",
                       "fe80:::1",
                       "::g",
                       "1.2.3.4/8/8",
                       "10.0.0.0/0008",
                       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
  for (const char* text : bad) {
    IpAddr out;
    EXPECT_FALSE(parse_ip(text, out, true)) << "'" << text << "'";
  }
  IpAddr out;
  EXPECT_FALSE(parse_ip("10.0.0.0/8", out, false)) << "prefix needs allow_prefix";
}

TEST(ValueTest, ComparesAddresses) {
  EXPECT_EQ(ip("10.0.0.1"), ip("10.0.0.1"));
  EXPECT_FALSE(ip("10.0.0.1") == ip("10.0.0.2"));
  EXPECT_FALSE(ip("::") == ip("0.0.0.0"));
  // The prefix only matters to ip_in_net.
  EXPECT_EQ(ip("10.0.0.1", true), ip("10.0.0.1"));
  EXPECT_EQ(IpAddr{}, IpAddr{});
}

TEST(ValueTest, MatchesNetworks) {
  EXPECT_TRUE(ip_in_net(ip("10.1.2.3"), ip("10.0.0.0/8", true)));
  EXPECT_FALSE(ip_in_net(ip("11.1.2.3"), ip("10.0.0.0/8", true)));
  EXPECT_TRUE(ip_in_net(ip("172.31.255.255"), ip("172.16.0.0/12", true)));
  EXPECT_FALSE(ip_in_net(ip("172.32.0.0"), ip("172.16.0.0/12", true)));
  EXPECT_TRUE(ip_in_net(ip("192.168.1.1"), ip("192.168.1.1", true)));
  EXPECT_FALSE(ip_in_net(ip("192.168.1.2"), ip("192.168.1.1", true)));
  EXPECT_TRUE(ip_in_net(ip("8.8.8.8"), ip("0.0.0.0/0", true)));
  EXPECT_TRUE(ip_in_net(ip("fe80::1"), ip("fe80::/10", true)));
  EXPECT_TRUE(ip_in_net(ip("febf::1"), ip("fe80::/10", true)));
  EXPECT_FALSE(ip_in_net(ip("fec0::1"), ip("fe80::/10", true)));
  // Families never mix, and an unset address is in no network.
  EXPECT_FALSE(ip_in_net(ip("::ffff:10.0.0.1"), ip("10.0.0.0/8", true)));
  EXPECT_FALSE(ip_in_net(IpAddr{}, ip("0.0.0.0/0", true)));
}

TEST(ValueTest, FormatsAddresses) {
  EXPECT_EQ(format_ip(ip("10.1.2.3")), "10.1.2.3");
  EXPECT_EQ(format_ip(ip("fe80::0:1")), "fe80::1");
  EXPECT_EQ(format_ip(ip("10.0.0.0/8", true)), "10.0.0.0/8");
  EXPECT_EQ(format_ip(ip("10.0.0.1", true)), "10.0.0.1");
  EXPECT_EQ(format_ip(ip("fe80::/10", true)), "fe80::/10");
  EXPECT_EQ(format_ip(IpAddr{}), "");
}

TEST(ValueTest, ArenaCopiesAndResets) {
  Arena arena;
  std::string_view a = arena.copy("hello");
  std::string_view b = arena.copy("world");
  EXPECT_EQ(a, "hello");
  EXPECT_EQ(b, "world");
  EXPECT_TRUE(arena.copy("").empty());
  const char* first = a.data();
  arena.reset();
  EXPECT_EQ(arena.copy("again").data(), first) << "reset reuses the first block";
}

TEST(ValueTest, ArenaGrowsAndSettles) {
  Arena arena;
  std::vector<std::string_view> views;
  std::string big(10000, 'x');
  for (int i = 0; i < 10; ++i) {
    views.push_back(arena.copy(big));
  }
  for (std::string_view v : views) {
    EXPECT_EQ(v, big) << "earlier blocks stay valid while the arena grows";
  }
  arena.reset();
  // After a reset the arena holds one block big enough for what the last event needed.
  const char* start = arena.allocate(1);
  for (int i = 0; i < 10; ++i) {
    arena.copy(big);
  }
  std::string_view last = arena.copy("end");
  EXPECT_LT(static_cast<size_t>(last.data() - start), 10 * big.size() + 16);
}

TEST(ValueTest, ValueWriterAppends) {
  ValuePool pool;
  Arena arena;
  ValueWriter w(pool, arena);
  std::string temp = "temporary";
  w.str("static");
  w.str_copy(temp);
  temp.assign("overwritten");
  w.num(-7);
  w.boolean(true);
  w.ip(ip("10.0.0.1"));
  ASSERT_EQ(pool.size(), 5u);
  EXPECT_EQ(pool[0].str, "static");
  EXPECT_EQ(pool[1].str, "temporary");
  EXPECT_EQ(pool[2].num, -7);
  EXPECT_EQ(pool[3].num, 1);
  EXPECT_EQ(pool[4].ip, ip("10.0.0.1"));
}

}  // namespace
}  // namespace vigil::fields
