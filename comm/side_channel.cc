// The side channel (see side_channel.h): set-up over MPI (address cards, all-gathered), then a full mesh of TCP
// connections (rank i connects to every lower rank and accepts every higher one), then one service thread that
// polls every socket. Frames: 1 byte type, 4 bytes length (network order), payload.
#include "comm/side_channel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "comm/flight_recorder.h"

namespace kachi {
namespace {

using Clock = std::chrono::steady_clock;

enum FrameType : uint8_t { kHello = 1, kQuery = 2, kAnswer = 3, kBye = 4, kAbort = 5 };

// How long after the first peer death the loss is reported (other ranks of the same host die within it).
// A whole host's death is reported as soon as it is complete.
constexpr auto kLossGrace = std::chrono::milliseconds(200);
// Set-up limits: one connection attempt, and the whole mesh.
constexpr int kConnectAttemptMs = 2000;
constexpr auto kSetupLimit = std::chrono::seconds(30);

// What every rank publishes at set-up.
struct Card {
  int32_t port = 0;
  int32_t address_count = 0;
  uint32_t addresses[4] = {0, 0, 0, 0};  // IPv4, network order
  char host[64] = {0};
  uint64_t job = 0;  // this job's token (rank 0's pid and port, all-gathered): a stray connection cannot join
};

struct Peer {
  int fd = -1;
  std::string inbox;
  bool dead = false;  // closed without goodbye
  bool left = false;  // said goodbye
  std::mutex write_mu;
};

struct Channel {
  std::mutex mu;
  std::condition_variable answered;
  bool running = false;
  bool stop = false;
  int rank = 0;
  int size = 1;
  std::vector<std::string> hosts;
  std::vector<std::unique_ptr<Peer>> peers;  // by world rank; own slot unused
  int wake[2] = {-1, -1};
  std::thread thread;
  uint64_t next_query = 1;
  uint64_t current_query = 0;
  std::map<int, std::string> answers;
  bool job_ending = false;  // a peer aborts or leaves: deaths are no longer news
  bool loss_reported = false;
  bool loss_is_news = false;  // the first death came before any abort or goodbye
  std::vector<int> dead;
  Clock::time_point report_loss_at;
  std::function<void(const std::vector<int>&)> on_loss;
};

Channel& GetChannel() {
  static Channel* channel = new Channel;  // never destroyed: its thread may run during exit
  return *channel;
}

std::string Frame(FrameType type, const std::string& payload) {
  std::string frame(5, '\0');
  frame[0] = static_cast<char>(type);
  const uint32_t length = htonl(static_cast<uint32_t>(payload.size()));
  std::memcpy(&frame[1], &length, 4);
  return frame + payload;
}

// Writes all of `bytes` to a non-blocking socket, giving up after about a second; false on failure.
bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  const auto give_up = Clock::now() + std::chrono::seconds(1);
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && Clock::now() < give_up) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 50);
      continue;
    }
    return false;
  }
  return true;
}

void Send(Peer& peer, FrameType type, const std::string& payload) {
  std::lock_guard<std::mutex> lock(peer.write_mu);
  if (peer.fd >= 0) WriteAll(peer.fd, Frame(type, payload));
}

// Reads one frame from a blocking socket within `timeout_ms` (set-up only).
bool ReadFrameBlocking(int fd, int timeout_ms, uint8_t* type, std::string* payload) {
  std::string got;
  const auto give_up = Clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t want = 5;
  while (got.size() < want) {
    pollfd p{fd, POLLIN, 0};
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now()).count());
    if (left <= 0 || ::poll(&p, 1, left) <= 0) return false;
    char buffer[256];
    const ssize_t n = ::recv(fd, buffer, std::min(sizeof(buffer), want - got.size()), 0);
    if (n <= 0) return false;
    got.append(buffer, static_cast<size_t>(n));
    if (got.size() == 5 && want == 5) {
      uint32_t length = 0;
      std::memcpy(&length, &got[1], 4);
      want = 5 + ntohl(length);
      if (want > 5 + 4096) return false;
    }
  }
  *type = static_cast<uint8_t>(got[0]);
  *payload = got.substr(5);
  return true;
}

// This host's IPv4 addresses to publish (non-loopback, up), or KACHI_SIDE_CHANNEL_ADDR.
std::vector<uint32_t> OwnAddresses() {
  std::vector<uint32_t> addresses;
  if (const char* forced = std::getenv("KACHI_SIDE_CHANNEL_ADDR"); forced != nullptr && *forced != '\0') {
    in_addr address{};
    if (inet_pton(AF_INET, forced, &address) == 1) addresses.push_back(address.s_addr);
    return addresses;
  }
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return addresses;
  for (ifaddrs* it = list; it != nullptr && addresses.size() < 4; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    if ((it->ifa_flags & IFF_UP) == 0 || (it->ifa_flags & IFF_LOOPBACK) != 0) continue;
    addresses.push_back(reinterpret_cast<sockaddr_in*>(it->ifa_addr)->sin_addr.s_addr);
  }
  freeifaddrs(list);
  return addresses;
}

// A connected socket to `address`:`port`, or -1 (non-blocking connect bounded by kConnectAttemptMs).
int ConnectTo(uint32_t address, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = address;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int error = 0;
  socklen_t length = sizeof(error);
  if (::poll(&p, 1, kConnectAttemptMs) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 ||
      error != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void Configure(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Handles one complete frame from `from`. Caller holds channel.mu; returns a frame to send back ("" for none).
std::string HandleFrameLocked(Channel& channel, int from, uint8_t type, const std::string& payload) {
  Peer& peer = *channel.peers[from];
  switch (type) {
    case kQuery:
      return Frame(kAnswer, payload.substr(0, 8) + FlightRecordText(LocalFlightRecord()));
    case kAnswer: {
      if (payload.size() < 8) break;
      uint64_t id = 0;
      std::memcpy(&id, payload.data(), 8);
      if (id == channel.current_query) {
        channel.answers[from] = payload.substr(8);
        channel.answered.notify_all();
      }
      break;
    }
    case kBye:
      peer.left = true;
      channel.job_ending = true;
      channel.answered.notify_all();
      break;
    case kAbort:
      channel.job_ending = true;
      break;
    default:
      break;
  }
  return "";
}

// Reads what `from` sent; marks it dead or gone on end of stream. Caller holds channel.mu.
void ReadPeerLocked(Channel& channel, int from) {
  Peer& peer = *channel.peers[from];
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(peer.fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      peer.inbox.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    // End of stream or error: the peer is gone.
    {
      std::lock_guard<std::mutex> write_lock(peer.write_mu);
      ::close(peer.fd);
      peer.fd = -1;
    }
    break;
  }
  while (peer.inbox.size() >= 5) {
    uint32_t length = 0;
    std::memcpy(&length, &peer.inbox[1], 4);
    length = ntohl(length);
    if (peer.inbox.size() < 5 + length) break;
    const uint8_t type = static_cast<uint8_t>(peer.inbox[0]);
    const std::string payload = peer.inbox.substr(5, length);
    peer.inbox.erase(0, 5 + length);
    const std::string reply = HandleFrameLocked(channel, from, type, payload);
    if (!reply.empty()) {
      std::lock_guard<std::mutex> write_lock(peer.write_mu);
      if (peer.fd >= 0) WriteAll(peer.fd, reply);
    }
  }
  if (peer.fd < 0 && !peer.left && !peer.dead) {
    peer.dead = true;
    channel.answered.notify_all();
    // A death is news only if it comes before any abort or goodbye (then the job is ending anyway); later deaths
    // still join the report of an earlier one.
    if (channel.dead.empty() && !channel.job_ending) {
      channel.loss_is_news = true;
      channel.report_loss_at = Clock::now() + kLossGrace;
    }
    channel.dead.push_back(from);
  }
}

// True when every dead peer's host has no live rank left (a whole host is gone: no need to wait for more deaths).
bool WholeHostsDeadLocked(const Channel& channel) {
  for (int dead : channel.dead) {
    for (int r = 0; r < channel.size; ++r) {
      if (channel.hosts[r] != channel.hosts[dead]) continue;
      if (r == channel.rank || !channel.peers[r]->dead) return false;
    }
  }
  return true;
}

void Serve(Channel& channel) {
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<int> owners;
    {
      std::lock_guard<std::mutex> lock(channel.mu);
      if (channel.stop) return;
      fds.push_back(pollfd{channel.wake[0], POLLIN, 0});
      owners.push_back(-1);
      for (int r = 0; r < channel.size; ++r) {
        if (r == channel.rank || channel.peers[r]->fd < 0) continue;
        fds.push_back(pollfd{channel.peers[r]->fd, POLLIN, 0});
        owners.push_back(r);
      }
    }
    ::poll(fds.data(), fds.size(), 100);
    std::function<void(const std::vector<int>&)> report;
    std::vector<int> dead;
    {
      std::lock_guard<std::mutex> lock(channel.mu);
      if (channel.stop) return;
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents != 0 && channel.peers[owners[i]]->fd == fds[i].fd) ReadPeerLocked(channel, owners[i]);
      }
      // Deaths seen before an abort or goodbye arrived are still reported (each survivor names the loss itself).
      if (channel.loss_is_news && !channel.loss_reported && channel.on_loss &&
          (Clock::now() >= channel.report_loss_at || WholeHostsDeadLocked(channel))) {
        channel.loss_reported = true;
        report = channel.on_loss;
        dead = channel.dead;
      }
    }
    if (report) report(dead);
  }
}

// Connects the mesh for `cards`; returns an error naming the peer that could not be reached.
absl::Status ConnectMesh(Channel& channel, int listener, const std::vector<Card>& cards) {
  const auto give_up = Clock::now() + kSetupLimit;
  const uint32_t loopback = htonl(INADDR_LOOPBACK);
  for (int peer = 0; peer < channel.rank; ++peer) {
    const Card& card = cards[peer];
    std::vector<uint32_t> candidates;
    if (channel.hosts[peer] == channel.hosts[channel.rank]) candidates.push_back(loopback);
    for (int i = 0; i < card.address_count && i < 4; ++i) candidates.push_back(card.addresses[i]);
    int fd = -1;
    while (fd < 0 && Clock::now() < give_up) {
      for (uint32_t address : candidates) {
        if ((fd = ConnectTo(address, card.port)) >= 0) break;
      }
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (fd < 0) {
      return absl::UnavailableError(absl::StrCat("side channel: cannot connect to world rank ", peer, " (host ",
                                                 channel.hosts[peer], ", port ", card.port, ")"));
    }
    const int32_t me = htonl(channel.rank);
    std::string hello(reinterpret_cast<const char*>(&me), 4);
    hello.append(reinterpret_cast<const char*>(&cards[0].job), 8);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (!WriteAll(fd, Frame(kHello, hello))) {
      ::close(fd);
      return absl::UnavailableError(absl::StrCat("side channel: hello to world rank ", peer, " failed"));
    }
    channel.peers[peer]->fd = fd;
  }
  for (int accepted = 0; accepted < channel.size - 1 - channel.rank;) {
    pollfd p{listener, POLLIN, 0};
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now()).count());
    if (left <= 0 || ::poll(&p, 1, left) <= 0) {
      return absl::DeadlineExceededError(absl::StrCat("side channel: world rank ", channel.rank, " accepted ",
                                                      accepted, " of ", channel.size - 1 - channel.rank,
                                                      " connections from higher ranks within 30 s"));
    }
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    uint8_t type = 0;
    std::string payload;
    int32_t from = -1;
    uint64_t job = 0;
    if (ReadFrameBlocking(fd, 5000, &type, &payload) && type == kHello && payload.size() == 12) {
      std::memcpy(&from, payload.data(), 4);
      from = ntohl(from);
      std::memcpy(&job, payload.data() + 4, 8);
    }
    if (job != cards[0].job) from = -1;
    if (from <= channel.rank || from >= channel.size || channel.peers[from]->fd >= 0) {
      ::close(fd);
      continue;
    }
    channel.peers[from]->fd = fd;
    ++accepted;
  }
  return absl::OkStatus();
}

void StopAtExit() { StopSideChannel(); }

}  // namespace

absl::Status StartSideChannel(MPI_Comm world) {
  Channel& channel = GetChannel();
  {
    std::lock_guard<std::mutex> lock(channel.mu);
    if (channel.running) return absl::OkStatus();
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(world, &rank);
  MPI_Comm_size(world, &size);
  // Listen on every interface.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t length = sizeof(any);
  Card card;
  bool ok = listener >= 0 && ::bind(listener, reinterpret_cast<sockaddr*>(&any), sizeof(any)) == 0 &&
            ::listen(listener, SOMAXCONN) == 0 &&
            ::getsockname(listener, reinterpret_cast<sockaddr*>(&any), &length) == 0;
  if (ok) card.port = ntohs(any.sin_port);
  std::vector<uint32_t> addresses = OwnAddresses();
  card.address_count = static_cast<int32_t>(addresses.size());
  for (size_t i = 0; i < addresses.size(); ++i) card.addresses[i] = addresses[i];
  ::gethostname(card.host, sizeof(card.host) - 1);
  card.job = (static_cast<uint64_t>(::getpid()) << 16) ^ static_cast<uint64_t>(card.port) ^
             (static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) << 32);
  std::vector<Card> cards(size);
  MPI_Allgather(&card, sizeof(Card), MPI_BYTE, cards.data(), sizeof(Card), MPI_BYTE, world);

  channel.rank = rank;
  channel.size = size;
  channel.hosts.clear();
  channel.peers.clear();
  for (const Card& c : cards) {
    channel.hosts.emplace_back(c.host, strnlen(c.host, sizeof(c.host)));
    channel.peers.push_back(std::make_unique<Peer>());
  }
  absl::Status status = ok ? ConnectMesh(channel, listener, cards)
                           : absl::UnavailableError("side channel: cannot listen on a TCP port");
  if (listener >= 0) ::close(listener);
  int local_ok = status.ok() ? 1 : 0, all_ok = 0;
  MPI_Allreduce(&local_ok, &all_ok, 1, MPI_INT, MPI_MIN, world);
  if (!all_ok) {
    for (auto& peer : channel.peers) {
      if (peer->fd >= 0) ::close(peer->fd);
      peer->fd = -1;
    }
    return status.ok() ? absl::UnavailableError("side channel: another rank could not connect (see its message)")
                       : status;
  }
  for (int r = 0; r < size; ++r) {
    if (channel.peers[r]->fd >= 0) Configure(channel.peers[r]->fd);
  }
  if (::pipe2(channel.wake, O_CLOEXEC | O_NONBLOCK) != 0) return absl::InternalError("side channel: pipe failed");
  {
    std::lock_guard<std::mutex> lock(channel.mu);
    channel.running = true;
    channel.stop = false;
  }
  channel.thread = std::thread([&channel] { Serve(channel); });
  static bool at_exit_registered = false;
  if (!at_exit_registered) {
    at_exit_registered = true;
    std::atexit(StopAtExit);
  }
  return absl::OkStatus();
}

void StopSideChannel() {
  Channel& channel = GetChannel();
  {
    std::lock_guard<std::mutex> lock(channel.mu);
    if (!channel.running) return;
    channel.running = false;
    channel.stop = true;
    channel.job_ending = true;
  }
  const char byte = 1;
  (void)!::write(channel.wake[1], &byte, 1);
  if (channel.thread.joinable() && channel.thread.get_id() != std::this_thread::get_id()) channel.thread.join();
  for (int r = 0; r < channel.size; ++r) {
    if (r == channel.rank) continue;
    Peer& peer = *channel.peers[r];
    Send(peer, kBye, "");
    std::lock_guard<std::mutex> lock(peer.write_mu);
    if (peer.fd >= 0) ::close(peer.fd);
    peer.fd = -1;
  }
  ::close(channel.wake[0]);
  ::close(channel.wake[1]);
}

bool SideChannelRunning() {
  Channel& channel = GetChannel();
  std::lock_guard<std::mutex> lock(channel.mu);
  return channel.running;
}

int SideChannelRank() { return GetChannel().rank; }

std::vector<std::string> SideChannelHosts() {
  Channel& channel = GetChannel();
  std::lock_guard<std::mutex> lock(channel.mu);
  return channel.hosts;
}

std::vector<PeerAnswer> QueryPeers(absl::Duration timeout) {
  Channel& channel = GetChannel();
  std::unique_lock<std::mutex> lock(channel.mu);
  std::vector<PeerAnswer> result;
  if (!channel.running) return result;
  const uint64_t id = channel.next_query++;
  channel.current_query = id;
  channel.answers.clear();
  std::string payload(8, '\0');
  std::memcpy(&payload[0], &id, 8);
  int asked = 0;
  for (int r = 0; r < channel.size; ++r) {
    if (r == channel.rank || channel.peers[r]->fd < 0) continue;
    Send(*channel.peers[r], kQuery, payload);
    ++asked;
  }
  const auto give_up = Clock::now() + absl::ToChronoMilliseconds(timeout);
  channel.answered.wait_until(lock, give_up, [&] {
    int pending = 0;
    for (int r = 0; r < channel.size; ++r) {
      if (r == channel.rank) continue;
      const Peer& peer = *channel.peers[r];
      if (peer.fd >= 0 && !peer.left && channel.answers.count(r) == 0) ++pending;
    }
    return pending == 0;
  });
  for (int r = 0; r < channel.size; ++r) {
    if (r == channel.rank) continue;
    const Peer& peer = *channel.peers[r];
    PeerAnswer answer;
    answer.rank = r;
    if (auto it = channel.answers.find(r); it != channel.answers.end()) {
      answer.state = PeerAnswer::kAnswered;
      answer.record = it->second;
    } else if (peer.left) {
      answer.state = PeerAnswer::kLeft;
    } else if (peer.dead || peer.fd < 0) {
      answer.state = PeerAnswer::kDead;
    }
    result.push_back(std::move(answer));
  }
  channel.current_query = 0;
  return result;
}

void SetPeerLossHandler(std::function<void(const std::vector<int>& dead)> handler) {
  Channel& channel = GetChannel();
  std::lock_guard<std::mutex> lock(channel.mu);
  channel.on_loss = std::move(handler);
}

void AnnounceAbort() {
  Channel& channel = GetChannel();
  {
    std::lock_guard<std::mutex> lock(channel.mu);
    if (!channel.running) return;
    channel.job_ending = true;
  }
  for (int r = 0; r < channel.size; ++r) {
    if (r != channel.rank) Send(*channel.peers[r], kAbort, "");
  }
}

}  // namespace kachi
