// Minimal leveled logging to stderr. Each line is written with one write(2) call so lines from
// different threads never interleave. Thread-safe.
#pragma once

#include <sstream>
#include <string>

namespace canarymesh {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
bool ParseLogLevel(const std::string& name, LogLevel* out);
void WriteLogLine(LogLevel level, const char* file, int line, const std::string& message);

namespace internal {
class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line)
      : level_(level), file_(file), line_(line) {}
  ~LogMessage() { WriteLogLine(level_, file_, line_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};
}  // namespace internal

}  // namespace canarymesh

// A for-statement rather than if/else so that `if (x) LOG_INFO << ...;` cannot capture an else.
#define CM_LOG(level)                                                                   \
  for (bool cm_log_once = ::canarymesh::LogLevel::level >= ::canarymesh::GetLogLevel(); \
       cm_log_once; cm_log_once = false)                                                \
  ::canarymesh::internal::LogMessage(::canarymesh::LogLevel::level, __FILE__, __LINE__).stream()

#define LOG_DEBUG CM_LOG(kDebug)
#define LOG_INFO CM_LOG(kInfo)
#define LOG_WARN CM_LOG(kWarn)
#define LOG_ERROR CM_LOG(kError)
