#!/usr/bin/env bash
# The `update` of a step that has already run from the cutover on (a data step): a changed script,
# connection or input never runs it again. It changes nothing on the server and prints the output the step
# printed when it ran (kept by the preamble's `result` in $WORK/$STEP.result), so the program reads the
# same FACTS, DUMP_SHA256, VERIFY or key as before. The header sets STEP and WORK.
if [ -r "$WORK/$STEP.result" ]; then
  cat "$WORK/$STEP.result"
else
  echo "$STEP: already ran; nothing is run again (no kept output in $WORK)"
fi
