using Egl;
using LinuxKernel;

namespace Compositor.Render;

/// <summary>Makes the renderer --renderer asks for, with its importers and the EGL display they share.</summary>
public static class RendererFactory
{
    /// <summary>The renderer for buffers of <paramref name="devicePath"/> (the main device; null: none). Without
    /// --renderer: GL where the device's EGL imports dma-bufs and the GL is not a software rasterizer, else the CPU
    /// (on llvmpipe the CPU renderer costs less per frame: see README, "Renderers").</summary>
    public static IRenderer Create(Options options, string? devicePath)
    {
        // Refused before anything is opened. The DRM backend has no GL target yet (a GBM swapchain): it composites into dumb buffers, with the CPU.
        if (options.Renderer == "gl" && options.Backend == "drm")
            throw new InvalidOperationException("--renderer=gl: the DRM backend has no GL render target yet; use --renderer=cpu");
        var cpu = new CpuImporter();
        var display = devicePath != null ? TryOpen(() => EglDisplay.Open(devicePath), devicePath)
                    : options.Renderer == "gl" ? TryOpen(EglDisplay.OpenSurfaceless, "surfaceless") : null;
        var egl = display != null && !options.NoEgl ? TryImporter(display) : null;
        string choice = options.Renderer ?? (options.Backend != "drm" && display != null && egl != null && !IsSoftware(display) ? "gl" : "cpu");
        if (choice == "gl")
        {
            if (display == null) throw new InvalidOperationException("--renderer=gl: no EGL display with GLES 2 (see the warning above)");
            try { return new Gles.GlesRenderer(display, egl, cpu); }
            catch (EglException e)
            {
                display.Dispose();
                throw new InvalidOperationException($"--renderer=gl: {e.Message}");
            }
        }
        // The CPU renderer keeps the display only for its EGL importer (read-back of what only EGL can interpret).
        if (egl == null) display?.Dispose();
        return new CpuRenderer(cpu, egl);
    }

    static bool IsSoftware(EglDisplay d) => d.Renderer.StartsWith("llvmpipe", StringComparison.Ordinal) || d.Renderer.Contains("softpipe");

    static EglDisplay? TryOpen(Func<EglDisplay> open, string where)
    {
        try { return open(); }
        catch (Exception e) when (e is EglException or DllNotFoundException or EntryPointNotFoundException or KernelException)
        {
            Log.Warning($"no EGL display on {where}: {e.Message}; dma-bufs are read by the CPU only (LINEAR)");
            return null;
        }
    }

    /// <summary>The EGL importer on <paramref name="display"/>, or null (logged) without
    /// EGL_EXT_image_dma_buf_import(_modifiers) or GL_OES_EGL_image.</summary>
    static EglImporter? TryImporter(EglDisplay display)
    {
        try
        {
            if (!display.HasDmaBufImport || !display.HasDmaBufImportModifiers)
                throw new EglException("no EGL_EXT_image_dma_buf_import(_modifiers): its formats cannot be queried");
            var importer = new EglImporter(display);
            Log.Info($"EGL importer on {display.DevicePath}: {display.Renderer}, {importer.Formats.Count} pairs");
            return importer;
        }
        catch (EglException e)
        {
            Log.Warning($"no EGL importer on {display.DevicePath}: {e.Message}; dma-bufs are read by the CPU only (LINEAR)");
            return null;
        }
    }
}
