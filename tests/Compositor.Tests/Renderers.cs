using Xunit;

namespace Compositor.Tests;

/// <summary>Pixel tests run once per renderer and expect the same pixels from each (exact at 1:1; a tolerance is
/// stated where a test scales).</summary>
public static class Renderers
{
    public static readonly string[] All = ["cpu", "gl"];

    public static TheoryData<string> Each => new(All);

    /// <summary>Every row of <paramref name="rows"/> once per renderer, the renderer last.</summary>
    public static TheoryData<T, string> Times<T>(IEnumerable<T> rows)
    {
        var data = new TheoryData<T, string>();
        foreach (var r in rows) foreach (var renderer in All) data.Add(r, renderer);
        return data;
    }

    public static CompositorProcess Start(string renderer, params string[] args) => new([$"--renderer={renderer}", .. args]);
}
