namespace Compositor;

/// <summary>Command line, in weston's conventions (--name=value or --name value).</summary>
public sealed record Options
{
    public string? Socket { get; init; }
    public string Backend { get; init; } = "headless";
    public int Width { get; init; } = 1024;
    public int Height { get; init; } = 640;
    /// <summary>Refresh rate in mHz, as wl_output reports it.</summary>
    public int RefreshMilliHz { get; init; } = 60000;
    public LogLevel LogLevel { get; init; } = LogLevel.Info;
    public string? ScreenshotPath { get; init; }
    public string? DrmDevice { get; init; }
    /// <summary>The DRM node linux-dmabuf names as main device; "none" for none (no feedback, version 3).</summary>
    public string? DmabufDevice { get; init; }
    /// <summary>DRM backend: drive the writeback connector instead of the display connectors (tests read back
    /// what the CRTC scanned out).</summary>
    public bool DrmWriteback { get; init; }
    /// <summary>DRM backend: composite everything, never put client buffers on planes.</summary>
    public bool NoPlanes { get; init; }
    /// <summary>Do not import dma-bufs through EGL (only the CPU importer reads them; implicit modifiers are refused).</summary>
    public bool NoEgl { get; init; }
    /// <summary>"gl" or "cpu"; null: GL where EGL imports dma-bufs on a GPU, else CPU (RendererFactory).</summary>
    public string? Renderer { get; init; }
    /// <summary>Offer compositor_debug_v1 (scanout status of surfaces).</summary>
    public bool Debug { get; init; }
    public Limits Limits { get; init; } = new();
    /// <summary>The administrator's heap choices (default /etc/compositor/heaps.conf, used when it exists).</summary>
    public string? HeapConfig { get; init; }

    public const string Usage = """
        Usage: compositor [options]
          --socket=NAME         listen on $XDG_RUNTIME_DIR/NAME (default: the first free wayland-N)
          --backend=B           headless (default) or drm
          --device=PATH         drm: the KMS device (default: the first card with connectors)
          --drm-writeback       drm: show on the writeback connector (screenshots read back the CRTC)
          --no-planes           drm: composite everything (no direct scanout)
          --renderer=R          gl or cpu (default: gl where the main device's EGL imports dma-bufs
                                and is not a software rasterizer, else cpu)
          --no-egl              import dma-bufs for the CPU only (no EGL importer: implicit and tiled
                                modifiers are refused)
          --debug               offer compositor_debug_v1 (why surfaces are or are not scanned out)
          --width=W --height=H  output size in pixels (headless; default 1024x640)
          --refresh=MHZ         refresh rate in mHz (headless; default 60000)
          --log-level=LEVEL     debug, info, warn or error (default info)
          --screenshot=FILE.png write the output at exit; SIGUSR1 writes it on demand
          --max-queued-commits=N commits a surface may have waiting for fences (default 64)
          --max-heap-bytes=MIB  MiB of dma-bufs the compositor allocates for one client (default 256)
          --max-heap-buffers=N  dma-bufs the compositor allocates for one client at once (default 64)
          --dmabuf-device=PATH  the DRM node linux-dmabuf feedback names as main device (default: the
                                KMS device, else the first render node; "none": no feedback, version 3)
          --heap-config=FILE    heap choices per device (default /etc/compositor/heaps.conf if it exists;
                                lines "driver=NAME|path=/dev/dri/cardN|dev=MAJ:MIN heap[,heap...]")
          --help                this text
        WAYLAND_DEBUG=server traces the protocol (libwayland's own trace).
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a is "-h" or "--help") throw new UsageException(null);
            if (!a.StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"unexpected argument '{a}'");
            switch (a)
            {
                case "--drm-writeback": o = o with { DrmWriteback = true }; continue;
                case "--no-planes": o = o with { NoPlanes = true }; continue;
                case "--no-egl": o = o with { NoEgl = true }; continue;
                case "--debug": o = o with { Debug = true }; continue;
            }
            string name = a[2..], value;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (i + 1 < args.Length) value = args[++i];
            else throw new UsageException($"--{name} needs a value");
            o = name switch
            {
                "socket" => o with { Socket = value },
                "backend" => o with { Backend = value },
                "renderer" => value is "gl" or "cpu" ? o with { Renderer = value } : throw new UsageException($"unknown renderer '{value}' (available: gl, cpu)"),
                "width" => o with { Width = Positive(name, value) },
                "height" => o with { Height = Positive(name, value) },
                "refresh" => o with { RefreshMilliHz = Positive(name, value) },
                "log-level" => o with { LogLevel = Log.TryParseLevel(value, out var l) ? l : throw new UsageException($"unknown log level '{value}'") },
                "screenshot" => o with { ScreenshotPath = value },
                "device" => o with { DrmDevice = value },
                "dmabuf-device" => o with { DmabufDevice = value },
                "heap-config" => o with { HeapConfig = value },
                "max-queued-commits" => o with { Limits = o.Limits with { QueuedCommitsPerSurface = Positive(name, value) } },
                "max-heap-bytes" => o with { Limits = o.Limits with { HeapBytesPerClient = (long)Positive(name, value) << 20 } },
                "max-heap-buffers" => o with { Limits = o.Limits with { HeapBuffersPerClient = Positive(name, value) } },
                _ => throw new UsageException($"unknown option --{name}"),
            };
        }
        if (o.Backend is not ("headless" or "drm")) throw new UsageException($"unknown backend '{o.Backend}' (available: headless, drm)");
        return o;
    }

    static int Positive(string name, string value) =>
        int.TryParse(value, out int v) && v > 0 && v <= 65535 * 1000 ? v : throw new UsageException($"--{name} wants a positive integer, got '{value}'");
}

public sealed class UsageException(string? message) : Exception(message ?? "");
