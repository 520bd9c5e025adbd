package matrix

import "github.com/rs/zerolog"

// zerologNop silences mautrix's own logger: the bridge logs with slog, and
// mautrix's request logs would include URLs we do not want in ours.
var zerologNop = zerolog.Nop()
