#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/error.h>

// Function-like error macros are not visible to Swift.
static inline int indextts_averror_eof(void) { return AVERROR_EOF; }
static inline int indextts_averror_eagain(void) { return AVERROR(EAGAIN); }
