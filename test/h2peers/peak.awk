# peak.awk: the peak number of concurrently open streams in an nghttp or
# nghttpd -v log, seen from that program's side.
#
#   awk -v side=client -f peak.awk nghttp.log    (nghttp: opens by sending HEADERS)
#   awk -v side=server -f peak.awk nghttpd.log   (nghttpd: opens by receiving HEADERS)
#
# A stream opens with the request HEADERS and closes with the response's
# END_STREAM (flags with bit 0x1) or a RST_STREAM either way. Streams are keyed
# by nghttpd's "[id=N]" connection prefix too, so several sessions may share a log.
# Only the END_STREAM test needs the flags' last hex digit to be odd, which
# mawk can match without bit operations.
BEGIN { opener = (side == "server") ? "recv" : "send"; closer = (side == "server") ? "send" : "recv" }
function key(   c) {
  c = ""
  if (match($0, /\[id=[0-9]+\]/)) c = substr($0, RSTART, RLENGTH)
  match($0, /stream_id=[0-9]+/)
  return c substr($0, RSTART + 10, RLENGTH - 10)
}
$0 ~ (opener " HEADERS frame") { k = key(); if (!(k in open) && !(k in done)) { open[k] = 1; n++; if (n > peak) peak = n } }
$0 ~ (closer " (HEADERS|DATA) frame") && /flags=0x[0-9a-f]*[13579bdf],/ { k = key(); if (k in open) { delete open[k]; done[k] = 1; n-- } }
/(send|recv) RST_STREAM frame/ { k = key(); if (k in open) { delete open[k]; done[k] = 1; n-- } }
END { print peak + 0 }
