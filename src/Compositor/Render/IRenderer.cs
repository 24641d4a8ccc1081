using Compositor.Buffers;
using Compositor.Output;
using Compositor.Scene;
using Feedback;
using LinuxDmabuf.Importers;
using LinuxKernel.Sync;

namespace Compositor.Render;

/// <summary>
/// What paints frames (libweston's renderer vtable, Smithay's Renderer/ImportDma/ImportMem): which buffers it
/// samples, how it imports a client buffer (once, the result kept on the buffer), and the repaint of a frame into a
/// target within damage. One renderer per compositor, made at start-up from --renderer and owned by the server;
/// backends own their targets and ask the renderer to paint them.
/// </summary>
public interface IRenderer : IDisposable
{
    /// <summary>"cpu" or "gl", as --renderer names it.</summary>
    string Name { get; }

    /// <summary>The dma-buf importers whose imports this renderer samples, in the order linux-dmabuf tries them:
    /// a buffer is accepted when one takes it. Their pairs are the renderer's dma-buf formats.</summary>
    IReadOnlyList<IDmabufImporter> DmabufImporters { get; }

    /// <summary>The dma-buf pairs it samples: the union of <see cref="DmabufImporters"/>' pairs.</summary>
    FormatSet DmabufFormats { get; }

    /// <summary>Makes <paramref name="buffer"/> ready to sample (a texture, a mapping), once: the result, a
    /// failure included, is kept on the buffer (<see cref="ClientBuffer.RenderState"/>) and never retried per
    /// frame. Repaint imports what it meets on its own; false: the buffer cannot be shown by this renderer.</summary>
    bool Import(ClientBuffer buffer);

    /// <summary>A target in memory of the renderer's own kind (headless outputs).</summary>
    RenderTarget CreateOffscreenTarget(int width, int height);

    /// <summary>Paints <paramref name="frame"/> into <paramref name="target"/> within <paramref name="damage"/>
    /// (output coordinates; the caller adds what the target's age asks for), leaving out surfaces on planes of
    /// their own. Returns the release fence: it signals when the repaint finished reading the frame's buffers;
    /// null when it has finished already.</summary>
    SyncFile? Repaint(RenderTarget target, Frame frame, Rect damage);

    /// <summary>The target's pixels as XRGB8888 rows, top row first: for screenshots only (a GPU target is read
    /// back, and counted in <see cref="Stats"/>).</summary>
    uint[] ReadPixels(RenderTarget target);

    RenderStats Stats { get; }
}

/// <summary>
/// Where a renderer paints: a CPU image, a GL framebuffer. Its <see cref="Age"/> is the buffer age of a
/// swapchain (EGL_EXT_buffer_age's meaning): 0 its content is unknown (repaint everything), 1 it holds the
/// previous frame, n the frame n-1 frames before that.
/// </summary>
public abstract class RenderTarget : IDisposable
{
    protected RenderTarget(int width, int height) { Width = width; Height = height; }
    public int Width { get; }
    public int Height { get; }
    public int Age { get; set; }
    public virtual void Dispose() { }
}

/// <summary>What a renderer did, for tests and benchmarks: read-backs of GPU memory by the composition path
/// (they must stay 0 for the GL renderer) and by screenshots, apart. Logged with every screenshot and at exit.</summary>
public sealed class RenderStats
{
    public long Repaints { get; set; }
    public long CompositionReadbacks { get; set; }
    public long CompositionReadbackBytes { get; set; }
    public long ScreenshotReadbacks { get; set; }
    /// <summary>Rows of wl_shm (and CPU-mapped dma-buf) pixels uploaded to textures (GL renderer).</summary>
    public long UploadedRows { get; set; }

    public override string ToString() =>
        $"{Repaints} repaints, {CompositionReadbacks} composition read-backs ({CompositionReadbackBytes} bytes), " +
        $"{ScreenshotReadbacks} screenshot read-backs, {UploadedRows} rows uploaded";
}

/// <summary>The damage of a swapchain's last frames, so that a target of age n is repainted where the n-1 frames
/// since it was last painted changed it (the output's damage for this frame included).</summary>
public sealed class DamageHistory
{
    readonly Rect[] _recent;
    int _count;

    public DamageHistory(int depth) { _recent = new Rect[depth]; }

    /// <summary>What a target of <paramref name="age"/> must repaint for a frame of <paramref name="damage"/>:
    /// everything when the age is unknown or older than the history.</summary>
    public Rect ForAge(int age, Rect damage, Rect full)
    {
        if (age <= 0 || age - 1 > _count) return full;
        for (int i = 0; i < age - 1; i++) damage = damage.Union(_recent[i]);
        return damage;
    }

    /// <summary>Records a presented frame's damage (newest first).</summary>
    public void Add(Rect damage)
    {
        Array.Copy(_recent, 0, _recent, 1, _recent.Length - 1);
        _recent[0] = damage;
        _count = Math.Min(_count + 1, _recent.Length);
    }

    public void Clear() => _count = 0;
}
