# modem/serialport.py: the modem's serial port as a non-blocking asyncio byte stream (both runtimes).
# MicroPython: a raw tty with VMIN=0/VTIME=0 so read(n) returns what is there instead of looping
# until n bytes arrived, wrapped in asyncio's poll-driven StreamReader. CPython: O_NONBLOCK fd +
# loop.add_reader. A vanished device (USB re-enumeration, pty closed) raises OSError from read().
import os

from ..compat import IS_MICROPYTHON, asyncio

try:
    import termios
except ImportError:  # boards with a machine.UART use a board-specific port
    termios = None

READ_CHUNK = 256


def _configure(fd, baud):
    a = None
    if hasattr(termios, "setraw"):  # MicroPython
        termios.setraw(fd)
        a = termios.tcgetattr(fd)
        # VMIN=0/VTIME=0: a read returns what is buffered instead of looping for n bytes
        a[6][6] = 0
        a[6][5] = 0
    else:  # CPython: O_NONBLOCK gives EAGAIN when empty; keep VMIN=1 so 0 bytes means EOF
        import tty
        tty.setraw(fd)
        a = termios.tcgetattr(fd)
    speed = getattr(termios, "B%d" % baud, None)
    if speed is not None:
        a[4] = speed
        a[5] = speed
    termios.tcsetattr(fd, termios.TCSANOW, a)


class MPPort:
    def __init__(self, tty):
        self.tty = tty  # the open device file
        self.reader = asyncio.StreamReader(tty)
        self.writer = asyncio.StreamWriter(tty, {})
        self._buf = bytearray(READ_CHUNK)  # one read buffer for the port's life
        self._view = memoryview(self._buf)

    async def read(self):
        """The bytes that are there, as a view valid until the next read (the AT engine consumes
        them at once): no new buffer per read."""
        n = await self.reader.readinto(self._buf)
        if not n:
            raise OSError(5, "serial port closed (device gone)")
        return self._view[:n]

    async def write(self, data):
        self.writer.write(data)
        await self.writer.drain()

    def close(self):
        try:
            self.tty.close()
        except OSError:
            pass


class CPyPort:
    def __init__(self, fd):
        self.fd = fd
        self.loop = asyncio.get_event_loop()

    async def read(self):
        while True:
            try:
                data = os.read(self.fd, READ_CHUNK)
            except BlockingIOError:
                data = None
            if data == b"":
                raise OSError(5, "serial port closed (device gone)")
            if data:
                return data
            fut = self.loop.create_future()
            self.loop.add_reader(self.fd, fut.set_result, None)
            try:
                await fut
            finally:
                self.loop.remove_reader(self.fd)

    async def write(self, data):
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
                view = view[n:]
            except BlockingIOError:
                await asyncio.sleep(0.01)

    def close(self):
        try:
            os.close(self.fd)
        except OSError:
            pass


async def open_port(path, baud=115200):
    """Open and configure the serial device; OSError with a clear message if it cannot be opened."""
    if IS_MICROPYTHON:
        try:
            f = open(path, "r+b")
        except OSError as e:
            raise OSError(e.args[0] if e.args else 2, "cannot open modem port %s: %s" % (path, e))
        try:
            _configure(f.fileno(), baud)
        except OSError as e:
            f.close()
            raise OSError(e.args[0] if e.args else 25, "modem port %s is not a tty: %s" % (path, e))
        return MPPort(f)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as e:
        raise OSError(e.errno, "cannot open modem port %s: %s" % (path, e.strerror))
    try:
        _configure(fd, baud)
    except (OSError, termios.error) as e:
        os.close(fd)
        raise OSError(25, "modem port %s is not a tty: %s" % (path, e))
    return CPyPort(fd)
