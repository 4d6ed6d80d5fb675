# The sagewai CodeEval driver for CPython 3.8+, run as `python3 -c <this>`.
#
# Requests arrive on fd 3: a header line b"<op> <seq> <nbytes>\n" followed by
# exactly <nbytes> of payload (op "eval": UTF-8 source). Events leave on fd 4,
# one JSON object per line:
#   {"ev":"ready","language":"python","version":"3.11.2","pid":123}
#   {"ev":"display","seq":N,"data":{mime:text},"b64":[mimes],"result":bool}
#   {"ev":"done","seq":N,"error":null|{"name":..,"message":..,"traceback":..}}
# fds 1 and 2 stay the output pipes, so fd-level writes (C extensions,
# subprocesses) are captured. Only the standard library is used; imports are
# kept to C modules where possible because they cost start-up time.


def _sagewai_driver():
    import _signal
    import _thread
    import binascii
    import builtins
    import os
    import sys

    try:
        from _json import encode_basestring_ascii as quote
    except ImportError:  # pragma: no cover - every CPython has _json
        from json import dumps as quote

    ctl_in_fd, ctl_out_fd = 3, 4
    only_ast = 0x400  # PyCF_ONLY_AST
    top_level_await = 0x2000  # PyCF_ALLOW_TOP_LEVEL_AWAIT
    co_coroutine = 0x80
    driver_file = sys._getframe().f_code.co_filename

    # User code (and what it spawns) must not see the control channel.
    os.set_inheritable(ctl_in_fd, False)
    os.set_inheritable(ctl_out_fd, False)

    class State:
        seq = 0
        running = False  # user code is on the stack: SIGINT raises
        sending = 0  # an event is being written: SIGINT waits
        pending = False  # a SIGINT arrived while sending
        loop = None  # asyncio loop for top-level await, made on first use
        shown = set()  # ids of figures displayed in this cell

    st = State()
    write_lock = _thread.allocate_lock()
    # Cell sources for tracebacks. linecache costs ~8 ms of imports, so it is
    # filled when somebody imports it (see ImportHooks), not at start-up.
    cells = {}

    def register_cells(linecache):
        for filename, source in cells.items():
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)

    def encode(v):
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, int):
            return str(int(v))
        if isinstance(v, str):
            return quote(v)
        if isinstance(v, dict):
            return "{" + ",".join(quote(str(k)) + ":" + encode(x) for k, x in v.items()) + "}"
        if isinstance(v, (list, tuple)):
            return "[" + ",".join(encode(x) for x in v) + "]"
        return quote(str(v))

    def send(event):
        data = (encode(event) + "\n").encode("utf-8", "surrogatepass")
        st.sending += 1
        try:
            with write_lock:
                view = memoryview(data)
                while view:
                    view = view[os.write(ctl_out_fd, view):]
        finally:
            st.sending -= 1
        if st.pending and st.running and not st.sending:
            st.pending = False
            raise KeyboardInterrupt

    def on_sigint(signum, frame):
        if st.running and not st.sending:
            st.pending = False
            raise KeyboardInterrupt
        st.pending = st.running

    _signal.signal(_signal.SIGINT, on_sigint)

    def flush_streams():
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:
                pass

    # ------------------------------------------------------------ display --

    mime_methods = (
        ("text/html", "_repr_html_"),
        ("text/markdown", "_repr_markdown_"),
        ("text/latex", "_repr_latex_"),
        ("image/svg+xml", "_repr_svg_"),
        ("image/png", "_repr_png_"),
        ("image/jpeg", "_repr_jpeg_"),
        ("application/json", "_repr_json_"),
    )
    binary_mimes = ("image/png", "image/jpeg")

    def figure_png(fig):
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()

    def is_figure(obj):
        figure = sys.modules.get("matplotlib.figure")
        return figure is not None and isinstance(obj, figure.Figure)

    def bundle(obj):
        data = {}
        if is_figure(obj):
            data["image/png"] = figure_png(obj)
            st.shown.add(id(obj))
        elif not isinstance(obj, type):
            try:
                mimebundle = getattr(obj, "_repr_mimebundle_", None)
                if callable(mimebundle):
                    got = mimebundle()
                    if isinstance(got, tuple):
                        got = got[0]
                    if isinstance(got, dict):
                        data.update(got)
            except Exception:
                pass
            for mime, name in mime_methods:
                if mime in data:
                    continue
                try:
                    method = getattr(obj, name, None)
                    value = method() if callable(method) else None
                except Exception:
                    value = None
                if isinstance(value, tuple):
                    value = value[0]
                if value is not None:
                    data[mime] = value
        if "text/plain" not in data:
            try:
                data["text/plain"] = repr(obj)
            except Exception as e:
                data["text/plain"] = "<unrepresentable %s: %s>" % (type(obj).__name__, e)
        return data

    def emit(data, is_result=False):
        out, b64 = {}, []
        for mime, value in data.items():
            mime = str(mime)
            if isinstance(value, (bytes, bytearray, memoryview)):
                out[mime] = binascii.b2a_base64(bytes(value), newline=False).decode("ascii")
                b64.append(mime)
            elif mime in binary_mimes and isinstance(value, str):
                out[mime] = "".join(value.split())  # already base64, as IPython expects
                b64.append(mime)
            elif isinstance(value, str):
                out[mime] = value
            else:
                import json

                out[mime] = json.dumps(value, default=repr)
        flush_streams()
        send({"ev": "display", "seq": st.seq, "data": out, "b64": b64, "result": is_result})

    def display(*objs, raw=False):
        """Shows each object as a rich output (a MIME bundle when raw=True)."""
        for obj in objs:
            emit(dict(obj) if raw and isinstance(obj, dict) else bundle(obj))

    builtins.display = display

    def flush_figures():
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None:
            return
        try:
            for num in plt.get_fignums():
                fig = plt.figure(num)
                if id(fig) not in st.shown:
                    emit({"image/png": figure_png(fig), "text/plain": repr(fig)})
            plt.close("all")
        except KeyboardInterrupt:
            raise
        except Exception as e:
            sys.stderr.write("sagewai: could not capture matplotlib figures: %r\n" % (e,))

    def after_import(name, path, then):
        spec = path_finder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        real_exec = spec.loader.exec_module

        def exec_module(module):
            real_exec(module)
            try:
                then(module)
            except Exception:
                pass

        spec.loader.exec_module = exec_module
        return spec

    def use_inline_backend(matplotlib):
        matplotlib.rcParams["backend"] = "module://sagewai_inline"

    class ImportHooks:
        """Fills linecache with the cells when it is imported, and makes
        matplotlib's default backend Agg with show() emitting PNGs."""

        def find_spec(self, name, path=None, target=None):
            # Every import passes here: decide on the name before any work,
            # and import nothing (that would come back here).
            if name == "sagewai_inline":
                return module_spec(name, self)
            if name == "linecache":
                return after_import(name, path, register_cells)
            if name == "matplotlib" and "MPLBACKEND" not in os.environ:
                return after_import(name, path, use_inline_backend)
            return None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            from matplotlib.backend_bases import FigureManagerBase
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            def show(*args, **kwargs):
                flush_figures()

            module.FigureCanvas = FigureCanvasAgg
            module.FigureManager = FigureManagerBase
            module.show = show

    module_spec = type(sys.__spec__)
    path_finder = next((f for f in sys.meta_path if getattr(f, "__name__", "") == "PathFinder"), None)
    if path_finder is not None:
        sys.meta_path.insert(0, ImportHooks())

    # -------------------------------------------------------------- cells --

    main = type(sys)("__main__")
    main.__dict__["__builtins__"] = builtins
    driver_main = sys.modules.get("__main__")  # keeps this driver's globals alive
    sys.modules["__main__"] = main
    ns = main.__dict__
    sys.argv = [""]

    def describe(e):
        import traceback

        tb = e.__traceback__
        first_cell = tb
        while first_cell is not None and not first_cell.tb_frame.f_code.co_filename.startswith("<cell-"):
            first_cell = first_cell.tb_next
        if first_cell is not None:
            tb = first_cell
        else:
            while tb is not None and tb.tb_frame.f_code.co_filename == driver_file:
                tb = tb.tb_next
        # The SIGINT handler's frame ends a KeyboardInterrupt's traceback.
        last = None
        walk = tb
        while walk is not None:
            if walk.tb_next is not None and walk.tb_next.tb_frame.f_code.co_filename == driver_file:
                last = walk
            walk = walk.tb_next
        if last is not None and last.tb_frame.f_code.co_filename != driver_file:
            last.tb_next = None
        try:
            text = "".join(traceback.format_exception(type(e), e, tb))
        except Exception:
            text = "%s: %s\n" % (type(e).__name__, e)
        try:
            message = str(e)
        except Exception:
            message = "<unprintable %s>" % type(e).__name__
        return {"name": type(e).__name__, "message": message, "traceback": text}

    def execute(code):
        if code.co_flags & co_coroutine:
            import asyncio

            if st.loop is None:
                st.loop = asyncio.new_event_loop()
                asyncio.set_event_loop(st.loop)
            return st.loop.run_until_complete(eval(code, ns))
        return eval(code, ns)

    def run_cell(seq, source):
        st.seq = seq
        st.shown = set()
        filename = "<cell-%d>" % seq
        cells[filename] = source
        if "linecache" in sys.modules:
            register_cells(sys.modules["linecache"])
        error = None
        try:
            try:
                st.pending = False
                st.running = True
                tree = compile(source, filename, "exec", only_ast | top_level_await, True)
                last = None
                if tree.body and type(tree.body[-1]).__name__ == "Expr":
                    import _ast

                    last = _ast.Expression(tree.body.pop().value)
                flags = top_level_await
                execute(compile(tree, filename, "exec", flags, True))
                if last is not None:
                    value = execute(compile(last, filename, "eval", flags, True))
                    if value is not None:
                        builtins._ = value
                        ns["_"] = value
                        emit(bundle(value), is_result=True)
            finally:
                st.running = False
        except BaseException as e:
            st.running = False
            error = describe(e)
        flush_figures()
        flush_streams()
        send({"ev": "done", "seq": seq, "error": error})

    send(
        {
            "ev": "ready",
            "language": "python",
            "version": sys.version.split()[0],
            "pid": os.getpid(),
        }
    )
    ctl_in = open(ctl_in_fd, "rb", closefd=False)
    while True:
        header = ctl_in.readline()
        if not header:
            break
        parts = header.split()
        if len(parts) != 3:
            sys.stderr.write("sagewai: bad request header %r\n" % (header,))
            break
        op, seq, size = parts[0], int(parts[1]), int(parts[2])
        payload = ctl_in.read(size)
        if op == b"eval":
            run_cell(seq, payload.decode("utf-8", "replace"))
        else:
            send({"ev": "done", "seq": seq, "error": {"name": "ProtocolError", "message": "unknown op %r" % (op,), "traceback": ""}})
    del driver_main


_sagewai_driver()
