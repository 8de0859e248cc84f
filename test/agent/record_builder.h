#pragma once

// Builds ring-buffer records exactly as bpf/event_abi.h lays them out: a struct vg_event, then
// nblobs x (struct vg_blob + payload padded to 8 bytes), hdr.size = the whole length. Tests feed
// the bytes to Record::parse / EventDecoder::decode as the ring buffer would.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/event_abi.h"

namespace vigil::testing {

// One encoded record, 8-byte aligned like ring buffer data.
struct RawRecord {
  std::vector<uint64_t> words;
  size_t size = 0;
  const void* data() const { return words.data(); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words.data()); }
  vg_event& header() { return *reinterpret_cast<vg_event*>(words.data()); }
};

class RecordBuilder {
 public:
  // A record of `type` from process `tgid` (main thread, host pid namespace, no login uid).
  explicit RecordBuilder(uint16_t type, uint32_t tgid = 1000) {
    std::memset(&hdr_, 0, sizeof(hdr_));
    hdr_.type = type;
    hdr_.abi = VG_ABI_VERSION;
    hdr_.tgid = hdr_.tid = hdr_.vtgid = hdr_.vtid = tgid;
    hdr_.ppid = 1;
    hdr_.sid = hdr_.vpgid = tgid;
    hdr_.loginuid = UINT32_MAX;
    hdr_.pidns_inum = 0xEFFFFFFCu;
    hdr_.ts = 1'000'000'000;
    hdr_.start_time = hdr_.ts;  // as if the process had just started
    hdr_.cgroup_id = 1;
    comm("test");
  }

  vg_event& hdr() { return hdr_; }

  RecordBuilder& res(int64_t r) {
    hdr_.res = r;
    return *this;
  }
  RecordBuilder& args(std::initializer_list<uint64_t> a) {
    size_t i = 0;
    for (uint64_t v : a) {
      if (i < 6) hdr_.args[i++] = v;
    }
    return *this;
  }
  RecordBuilder& ppid(uint32_t p, uint64_t parent_start = 0) {
    hdr_.ppid = p;
    hdr_.parent_start_time = parent_start;
    return *this;
  }
  RecordBuilder& start(uint64_t s) {
    hdr_.start_time = s;
    return *this;
  }
  RecordBuilder& comm(std::string_view c) {
    std::memset(hdr_.comm, 0, sizeof(hdr_.comm));
    std::memcpy(hdr_.comm, c.data(), c.size() < 15 ? c.size() : 15);
    return *this;
  }
  RecordBuilder& uid(uint32_t u) {
    hdr_.uid = u;
    return *this;
  }
  RecordBuilder& cgroup(uint64_t id) {
    hdr_.cgroup_id = id;
    return *this;
  }
  RecordBuilder& flags(uint32_t f) {
    hdr_.flags |= f;
    return *this;
  }

  RecordBuilder& blob(uint16_t kind, std::string_view payload) {
    blobs_.push_back({kind, std::string(payload)});
    return *this;
  }
  RecordBuilder& path(std::string_view p) { return blob(VG_B_PATH, p); }
  RecordBuilder& path2(std::string_view p) { return blob(VG_B_PATH2, p); }
  RecordBuilder& exepath(std::string_view p) { return blob(VG_B_EXEPATH, p); }
  RecordBuilder& cwd(std::string_view p) { return blob(VG_B_CWD, p); }
  RecordBuilder& fdpath(std::string_view p) { return blob(VG_B_FDPATH, p); }
  RecordBuilder& dirfd_path(std::string_view p) { return blob(VG_B_DIRFD_PATH, p); }
  // "argv0\0argv1\0..." as the kernel copies the arg area (with the trailing NUL).
  RecordBuilder& argv(std::initializer_list<std::string_view> argv) {
    std::string area;
    for (std::string_view a : argv) {
      area.append(a);
      area.push_back('\0');
    }
    return blob(VG_B_ARGV, area);
  }
  RecordBuilder& fdinfo(int32_t fd, uint16_t kind, uint32_t dev = 0, uint64_t ino = 0,
                        uint32_t f_flags = 0) {
    vg_fdinfo i{};
    i.fd = fd;
    i.kind = kind;
    i.dev = dev;
    i.ino = ino;
    i.f_flags = f_flags;
    return blob(VG_B_FDINFO, std::string_view(reinterpret_cast<const char*>(&i), sizeof(i)));
  }
  // An IPv4 tuple: local saddr:sport, peer daddr:dport (host byte order ports).
  RecordBuilder& tuple4(std::string_view saddr, uint16_t sport, std::string_view daddr,
                        uint16_t dport, uint16_t type = SOCK_STREAM, uint16_t protocol = 6) {
    vg_socktuple t{};
    t.family = AF_INET;
    t.type = type;
    t.protocol = protocol;
    t.sport = sport;
    t.dport = dport;
    inet_pton(AF_INET, std::string(saddr).c_str(), t.saddr);
    inet_pton(AF_INET, std::string(daddr).c_str(), t.daddr);
    return blob(VG_B_SOCKTUPLE, std::string_view(reinterpret_cast<const char*>(&t), sizeof(t)));
  }
  RecordBuilder& tuple6(std::string_view saddr, uint16_t sport, std::string_view daddr,
                        uint16_t dport, uint16_t type = SOCK_STREAM, uint16_t protocol = 6) {
    vg_socktuple t{};
    t.family = AF_INET6;
    t.type = type;
    t.protocol = protocol;
    t.sport = sport;
    t.dport = dport;
    inet_pton(AF_INET6, std::string(saddr).c_str(), t.saddr);
    inet_pton(AF_INET6, std::string(daddr).c_str(), t.daddr);
    return blob(VG_B_SOCKTUPLE, std::string_view(reinterpret_cast<const char*>(&t), sizeof(t)));
  }
  RecordBuilder& sockaddr4(std::string_view addr, uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, std::string(addr).c_str(), &sa.sin_addr);
    return blob(VG_B_SOCKADDR, std::string_view(reinterpret_cast<const char*>(&sa), sizeof(sa)));
  }
  RecordBuilder& sockaddr_unix(std::string_view path) {
    std::string raw(2, '\0');
    const uint16_t family = AF_UNIX;
    std::memcpy(raw.data(), &family, 2);
    raw.append(path);
    raw.push_back('\0');
    return blob(VG_B_SOCKADDR, raw);
  }

  RawRecord build() const {
    std::vector<uint8_t> bytes(sizeof(vg_event));
    for (const Blob& b : blobs_) {
      vg_blob bh{};
      bh.kind = b.kind;
      bh.len = static_cast<uint16_t>(b.payload.size());
      const size_t at = bytes.size();
      bytes.resize(at + sizeof(vg_blob) + ((b.payload.size() + 7) & ~size_t{7}), 0);
      std::memcpy(bytes.data() + at, &bh, sizeof(bh));
      std::memcpy(bytes.data() + at + sizeof(bh), b.payload.data(), b.payload.size());
    }
    vg_event h = hdr_;
    h.size = static_cast<uint32_t>(bytes.size());
    h.nblobs = static_cast<uint16_t>(blobs_.size());
    std::memcpy(bytes.data(), &h, sizeof(h));
    RawRecord r;
    r.size = bytes.size();
    r.words.resize((bytes.size() + 7) / 8);
    std::memcpy(r.words.data(), bytes.data(), bytes.size());
    return r;
  }

 private:
  struct Blob {
    uint16_t kind;
    std::string payload;
  };
  vg_event hdr_;
  std::vector<Blob> blobs_;
};

}  // namespace vigil::testing
