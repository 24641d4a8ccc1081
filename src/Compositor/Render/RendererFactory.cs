using Egl;
using LinuxKernel;

namespace Compositor.Render;

/// <summary>Makes the renderer --renderer asks for, with its importers and the EGL display they share.</summary>
public static class RendererFactory
{
    /// <summary>The renderer for buffers of <paramref name="devicePath"/> (the main device; null: none).</summary>
    public static IRenderer Create(Options options, string? devicePath)
    {
        var cpu = new CpuImporter();
        var egl = devicePath != null && !options.NoEgl ? TryOpenEgl(devicePath) : null;
        return new CpuRenderer(cpu, egl);
    }

    /// <summary>The EGL importer on <paramref name="device"/>, or null (logged) when EGL cannot import there:
    /// no libEGL/libgbm, no GBM platform, no EGL_EXT_image_dma_buf_import.</summary>
    static EglImporter? TryOpenEgl(string device)
    {
        EglDisplay? display = null;
        try
        {
            display = EglDisplay.Open(device);
            if (!display.HasDmaBufImport || !display.HasDmaBufImportModifiers)
                throw new EglException("no EGL_EXT_image_dma_buf_import(_modifiers): its formats cannot be queried");
            var importer = new EglImporter(display);
            Log.Info($"EGL importer on {device}: {display.Renderer}, {importer.Formats.Count} pairs");
            display = null;
            return importer;
        }
        catch (Exception e) when (e is EglException or DllNotFoundException or EntryPointNotFoundException or KernelException)
        {
            Log.Warning($"no EGL importer on {device}: {e.Message}; dma-bufs are read by the CPU only (LINEAR)");
            return null;
        }
        finally
        {
            display?.Dispose();
        }
    }
}
