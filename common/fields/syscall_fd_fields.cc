// fd.* fields of the syscall source (libsinsp: sinsp_filtercheck_fd.cpp).
//
// Socket fields follow the client/server tuple: fd.cip/fd.sip are the connection's client and
// server whichever end this process holds; fd.lip/fd.rip are this process's end (local) and the
// peer (remote). The "either end" fields fd.ip, fd.net and fd.port yield both ends, so
// `fd.ip = 10.0.0.1` matches when either end has that address.

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>

#include "common/fields/syscall_fields.h"

namespace vigil::fields {
namespace {

using syscall_detail::concat;
using syscall_detail::event_of;

const FdInfo* fd_of(const void* e) { return event_of(e).fd; }

bool is_ip_socket(const FdInfo& fd) { return fd.type == FdType::kIpv4 || fd.type == FdType::kIpv6; }
bool is_file(const FdInfo& fd) { return fd.type == FdType::kFile; }

// Ends of the tuple, null when this fd does not have them.
struct Ends {
  const IpAddr* ip = nullptr;
  uint16_t port = 0;
  std::string_view name;
};

Ends client_end(const FdInfo& fd) {
  if (is_ip_socket(fd) && (fd.role == SocketRole::kClient || fd.role == SocketRole::kServer) &&
      fd.cip.family != 0) {
    return {&fd.cip, fd.cport, fd.cip_name};
  }
  return {};
}

Ends server_end(const FdInfo& fd) {
  if (is_ip_socket(fd) && fd.role != SocketRole::kNone && fd.sip.family != 0) {
    return {&fd.sip, fd.sport, fd.sip_name};
  }
  return {};
}

// Local and remote only exist for connected sockets.
Ends local_end(const FdInfo& fd) {
  if (fd.role == SocketRole::kClient) {
    return client_end(fd);
  }
  if (fd.role == SocketRole::kServer) {
    return server_end(fd);
  }
  return {};
}

Ends remote_end(const FdInfo& fd) {
  if (fd.role == SocketRole::kClient) {
    return server_end(fd);
  }
  if (fd.role == SocketRole::kServer) {
    return client_end(fd);
  }
  return {};
}

using EndFn = Ends (*)(const FdInfo&);

template <EndFn End>
void extract_end_ip(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd == nullptr) {
    return;
  }
  if (Ends end = End(*fd); end.ip != nullptr) {
    out.ip(*end.ip);
  }
}

template <EndFn End>
void extract_end_port(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd == nullptr) {
    return;
  }
  if (Ends end = End(*fd); end.ip != nullptr) {
    out.num(end.port);
  }
}

template <EndFn End>
void extract_end_name(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd == nullptr) {
    return;
  }
  if (Ends end = End(*fd); end.ip != nullptr && !end.name.empty()) {
    out.str(end.name);
  }
}

// fd.ip / fd.net: both ends.
void extract_any_ip(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd == nullptr) {
    return;
  }
  if (Ends c = client_end(*fd); c.ip != nullptr) {
    out.ip(*c.ip);
  }
  if (Ends s = server_end(*fd); s.ip != nullptr) {
    out.ip(*s.ip);
  }
}

// fd.port: both ends.
void extract_any_port(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd == nullptr) {
    return;
  }
  if (Ends c = client_end(*fd); c.ip != nullptr) {
    out.num(c.port);
  }
  if (Ends s = server_end(*fd); s.ip != nullptr) {
    out.num(s.port);
  }
}

// "10.0.0.1:4242" or "[fd00::1]:4242" into buf; returns the length.
size_t format_endpoint(const IpAddr& ip, uint16_t port, char* buf, size_t cap) {
  size_t n = 0;
  if (ip.family == 6) {
    buf[n++] = '[';
  }
  if (inet_ntop(ip.family == 4 ? AF_INET : AF_INET6, ip.bytes, buf + n,
                static_cast<socklen_t>(cap - n)) == nullptr) {
    return 0;
  }
  n += std::strlen(buf + n);
  if (ip.family == 6) {
    buf[n++] = ']';
  }
  buf[n++] = ':';
  auto [end, ec] = std::to_chars(buf + n, buf + cap, port);
  (void)ec;  // room for 5 digits is guaranteed by the callers' buffer size
  return static_cast<size_t>(end - buf);
}

// fd.name of a socket the producer did not name: "cip:cport->sip:sport" (or "sip:sport" for a
// listening socket), as libsinsp renders it.
std::string_view socket_tuple(const FdInfo& fd, Arena& arena) {
  Ends c = client_end(fd);
  Ends s = server_end(fd);
  if (s.ip == nullptr) {
    return {};
  }
  char buf[128];
  size_t n = 0;
  if (c.ip != nullptr) {
    n = format_endpoint(*c.ip, c.port, buf, 60);
    buf[n++] = '-';
    buf[n++] = '>';
  }
  n += format_endpoint(*s.ip, s.port, buf + n, sizeof(buf) - n);
  return arena.copy(std::string_view(buf, n));
}

std::string_view fd_name(const FdInfo& fd, Arena& arena) {
  if (!fd.name.empty()) {
    return fd.name;
  }
  return is_ip_socket(fd) ? socket_tuple(fd, arena) : std::string_view();
}

void extract_name(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd == nullptr) {
    return;
  }
  if (std::string_view name = fd_name(*fd, out.arena()); !name.empty()) {
    out.str(name);
  }
}

// Falco's fd.directory: the directory part of a file's path ("/" for files at the root), or the
// path of a directory fd.
std::string_view directory_of(const FdInfo& fd) {
  std::string_view name = fd.name;
  if (fd.type == FdType::kDirectory) {
    return name;
  }
  const size_t slash = name.rfind('/');
  if (slash == std::string_view::npos || slash == 0) {
    return "/";
  }
  return slash < name.size() - 1 ? name.substr(0, slash) : name;
}

void extract_directory(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd != nullptr && (is_file(*fd) || fd->type == FdType::kDirectory) && !fd->name.empty()) {
    out.str(directory_of(*fd));
  }
}

void extract_filename(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd == nullptr || !is_file(*fd) || fd->name.empty()) {
    return;
  }
  const size_t slash = fd->name.rfind('/');
  if (slash == std::string_view::npos) {
    out.str(fd->name);
  } else if (slash < fd->name.size() - 1) {
    out.str(fd->name.substr(slash + 1));
  }
}

void extract_nameraw(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd != nullptr && !fd->nameraw.empty()) {
    out.str(fd->nameraw);
  }
}

void extract_num(const void* e, const FieldArg&, ValueWriter& out) {
  if (const FdInfo* fd = fd_of(e)) {
    out.num(fd->num);
  }
}

void extract_type(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd != nullptr && fd->type != FdType::kUnknown) {
    out.str(fd_type_name(fd->type));
  }
}

// One-character strings for every char, so fd.typechar needs no per-event storage.
constexpr std::array<char, 256> make_all_chars() {
  std::array<char, 256> chars{};
  for (size_t i = 0; i < chars.size(); ++i) {
    chars[i] = static_cast<char>(i);
  }
  return chars;
}
constexpr std::array<char, 256> kAllChars = make_all_chars();

void extract_typechar(const void* e, const FieldArg&, ValueWriter& out) {
  if (const FdInfo* fd = fd_of(e)) {
    const char c = fd_type_char(fd->type);
    out.str(std::string_view(&kAllChars[static_cast<unsigned char>(c)], 1));
  }
}

void extract_l4proto(const void* e, const FieldArg&, ValueWriter& out) {
  // libsinsp reports "<NA>" (a value, not unset) for fds without a transport protocol.
  if (const FdInfo* fd = fd_of(e)) {
    out.str(l4proto_name(fd->l4proto));
  }
}

void extract_sockfamily(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd == nullptr) {
    return;
  }
  if (is_ip_socket(*fd)) {
    out.str("ip");
  } else if (fd->type == FdType::kUnix) {
    out.str("unix");
  }
}

void extract_is_server(const void* e, const FieldArg&, ValueWriter& out) {
  if (const FdInfo* fd = fd_of(e)) {
    out.boolean(is_ip_socket(*fd) &&
                (fd->role == SocketRole::kServer || fd->role == SocketRole::kListening));
  }
}

template <bool FdInfo::*M>
void extract_flag(const void* e, const FieldArg&, ValueWriter& out) {
  if (const FdInfo* fd = fd_of(e)) {
    out.boolean(fd->*M);
  }
}

void extract_dev(const void* e, const FieldArg&, ValueWriter& out) {
  if (const FdInfo* fd = fd_of(e)) {
    out.num(fd->dev);
  }
}

// The kernel's dev_t encoding: major in the top 12 bits, minor in the low 20.
void extract_dev_major(const void* e, const FieldArg&, ValueWriter& out) {
  if (const FdInfo* fd = fd_of(e)) {
    out.num(fd->dev >> 20);
  }
}

void extract_dev_minor(const void* e, const FieldArg&, ValueWriter& out) {
  if (const FdInfo* fd = fd_of(e)) {
    out.num(fd->dev & 0xFFFFF);
  }
}

void extract_ino(const void* e, const FieldArg&, ValueWriter& out) {
  const FdInfo* fd = fd_of(e);
  if (fd != nullptr && fd->ino != 0) {
    out.num(static_cast<int64_t>(fd->ino));
  }
}

// fd.types: the distinct types of the process's open fds; fd.types[N]: the type of fd N.
void extract_types(const void* e, const FieldArg& arg, ValueWriter& out) {
  const ProcessInfo* p = event_of(e).proc;
  if (p == nullptr) {
    return;
  }
  if (arg.present) {
    for (const FdRef& ref : p->fds) {
      if (ref.num == arg.index) {
        out.str(fd_type_name(ref.type));
        return;
      }
    }
    return;
  }
  uint64_t seen = 0;  // FdType has fewer than 64 values
  for (const FdRef& ref : p->fds) {
    const uint64_t bit = uint64_t{1} << static_cast<unsigned>(ref.type);
    if ((seen & bit) == 0) {
      seen |= bit;
      out.str(fd_type_name(ref.type));
    }
  }
}

std::string_view container_id_of(const SyscallEvent& ev) {
  return ev.container != nullptr ? ev.container->id : std::string_view("host");
}

void extract_containername(const void* e, const FieldArg&, ValueWriter& out) {
  const SyscallEvent& ev = event_of(e);
  if (ev.fd != nullptr) {
    out.str(concat(out.arena(), container_id_of(ev), ":", fd_name(*ev.fd, out.arena())));
  }
}

void extract_containerdirectory(const void* e, const FieldArg&, ValueWriter& out) {
  const SyscallEvent& ev = event_of(e);
  if (ev.fd != nullptr && (is_file(*ev.fd) || ev.fd->type == FdType::kDirectory) &&
      !ev.fd->name.empty()) {
    out.str(concat(out.arena(), container_id_of(ev), ":", directory_of(*ev.fd)));
  }
}

const FieldInfo kFdFields[] = {
    {"fd.num", FieldType::kNumber, kNone,
     "Number of the fd the syscall used or created; -1 when creating it failed.", extract_num},
    {"fd.type", FieldType::kString, kNone,
     "Type of the fd: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, "
     "inotify, timerfd, netlink, bpf, userfaultfd, io_uring, memfd or pidfd.",
     extract_type},
    {"fd.typechar", FieldType::kString, kNone,
     "Type of the fd as one character: f file, d directory, 4 ipv4, 6 ipv6, u unix, p pipe, "
     "e event, s signalfd, l eventpoll, i inotify, t timerfd, n netlink, b bpf, r io_uring, "
     "m memfd, P pidfd, o unknown.",
     extract_typechar},
    {"fd.name", FieldType::kString, kNone,
     "Full name of the fd: the absolute path of a file, the tuple 'cip:cport->sip:sport' of a "
     "socket.",
     extract_name},
    {"fd.directory", FieldType::kPath, kNone, "Directory of a file fd, or a directory fd's path.",
     extract_directory},
    {"fd.filename", FieldType::kString, kNone, "File name of a file fd, without the directory.",
     extract_filename},
    {"fd.nameraw", FieldType::kString, kNone,
     "Path of a file fd exactly as the process passed it, not made absolute.", extract_nameraw},
    {"fd.ip", FieldType::kIpAddr, kNone, "Matches the client or the server address.",
     extract_any_ip},
    {"fd.cip", FieldType::kIpAddr, kNone, "Client address of a socket.",
     extract_end_ip<client_end>},
    {"fd.sip", FieldType::kIpAddr, kNone, "Server address of a socket.",
     extract_end_ip<server_end>},
    {"fd.lip", FieldType::kIpAddr, kNone, "Local address: this process's end of the connection.",
     extract_end_ip<local_end>},
    {"fd.rip", FieldType::kIpAddr, kNone, "Remote address: the peer's end of the connection.",
     extract_end_ip<remote_end>},
    {"fd.net", FieldType::kIpNet, kNone,
     "Matches when the client or the server address is in a network: fd.net = 10.0.0.0/8.",
     extract_any_ip},
    {"fd.cnet", FieldType::kIpNet, kNone, "Client address, compared against networks.",
     extract_end_ip<client_end>},
    {"fd.snet", FieldType::kIpNet, kNone, "Server address, compared against networks.",
     extract_end_ip<server_end>},
    {"fd.lnet", FieldType::kIpNet, kNone, "Local address, compared against networks.",
     extract_end_ip<local_end>},
    {"fd.rnet", FieldType::kIpNet, kNone, "Remote address, compared against networks.",
     extract_end_ip<remote_end>},
    {"fd.port", FieldType::kNumber, kNone, "Matches the client or the server port.",
     extract_any_port},
    {"fd.cport", FieldType::kNumber, kNone, "Client port of a TCP/UDP socket.",
     extract_end_port<client_end>},
    {"fd.sport", FieldType::kNumber, kNone, "Server port of a TCP/UDP socket.",
     extract_end_port<server_end>},
    {"fd.lport", FieldType::kNumber, kNone, "Local port of a TCP/UDP socket.",
     extract_end_port<local_end>},
    {"fd.rport", FieldType::kNumber, kNone, "Remote port of a TCP/UDP socket.",
     extract_end_port<remote_end>},
    {"fd.cip.name", FieldType::kString, kNone, "Domain name of the client address.",
     extract_end_name<client_end>},
    {"fd.sip.name", FieldType::kString, kNone, "Domain name of the server address.",
     extract_end_name<server_end>},
    {"fd.lip.name", FieldType::kString, kNone, "Domain name of the local address.",
     extract_end_name<local_end>},
    {"fd.rip.name", FieldType::kString, kNone, "Domain name of the remote address.",
     extract_end_name<remote_end>},
    {"fd.l4proto", FieldType::kString, kNone,
     "Transport protocol of a socket: tcp, udp, icmp or raw ('<NA>' for other fds).",
     extract_l4proto},
    {"fd.sockfamily", FieldType::kString, kNone, "Socket family: 'ip' or 'unix'.",
     extract_sockfamily},
    {"fd.is_server", FieldType::kBool, kNone,
     "True when this process is the server end of the socket (accepted or listening).",
     extract_is_server},
    {"fd.connected", FieldType::kBool, kNone, "True when the socket is connected.",
     extract_flag<&FdInfo::connected>},
    {"fd.name_changed", FieldType::kBool, kNone,
     "True when this event changed the fd's name, e.g. a UDP socket sending to a new peer.",
     extract_flag<&FdInfo::name_changed>},
    {"fd.dev", FieldType::kNumber, kNone, "Device number of the file.", extract_dev},
    {"fd.dev.major", FieldType::kNumber, kNone, "Major device number of the file.",
     extract_dev_major},
    {"fd.dev.minor", FieldType::kNumber, kNone, "Minor device number of the file.",
     extract_dev_minor},
    {"fd.ino", FieldType::kNumber, kNone, "Inode number of the file.", extract_ino},
    {"fd.types", FieldType::kString, kList | kArgAllowed | kArgIndex,
     "Distinct types of the process's open fds; fd.types[N] is the type of fd N.", extract_types},
    {"fd.containername", FieldType::kString, kNone, "container.id and fd.name joined by ':'.",
     extract_containername},
    {"fd.containerdirectory", FieldType::kString, kNone,
     "container.id and fd.directory joined by ':'.", extract_containerdirectory},
};

}  // namespace

std::span<const FieldInfo> syscall_fd_fields() { return kFdFields; }

}  // namespace vigil::fields
