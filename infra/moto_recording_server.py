"""moto_server for the least-privilege run (infra/with-moto.sh --iam), its request recorder
made safe for a threaded server.

moto's recorder (moto 5.2.5, moto_api/_internal/recorder) appends each request to its file
from the request's own thread, and a large entry is written in several chunks: two requests
at once can interleave their lines, and infra/iam_report.py would read a broken record.
Here each record is written whole, one at a time. Arguments are moto_server's.
"""

import sys
import threading

from moto.moto_api._internal.recorder.models import Recorder
from moto.server import main

_lock = threading.Lock()
_record = Recorder._record_request


def _record_whole(self, request, body=None):
    with _lock:
        _record(self, request, body)


Recorder._record_request = _record_whole

if __name__ == "__main__":
    sys.exit(main())
