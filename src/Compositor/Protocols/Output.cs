// wl_output (wayland.xml), version 4: geometry, mode, scale, name, description, done.
using Compositor.Scene;
using Wayland.Server;
using Wayland.Server.Protocol;

namespace Compositor.Protocols;

/// <summary>The wl_output global of one <see cref="Output.Output"/> and the resources clients bound to it.</summary>
public sealed class OutputGlobal : IDisposable
{
    readonly Global _global;
    readonly List<OutputResource> _bound = new();

    public OutputGlobal(Server server, Output.Output output)
    {
        Output = output;
        _global = new Global(server.Display, WlOutput.Interface, WlOutput.MaxVersion, id =>
        {
            var r = new OutputResource(id, this);
            _bound.Add(r);
            SendState(r);
            // A client binding after surfaces already entered this output learns about them now.
            foreach (var s in server.Surfaces)
                if (s.Client == r.Client && s.EnteredOutputs.Contains(output)) s.Resource.SendEnter(r);
        });
    }

    public Output.Output Output { get; }
    public IEnumerable<OutputResource> BoundBy(Client c) => _bound.Where(r => r.Client == c);

    void SendState(OutputResource r)
    {
        var o = Output;
        r.SendGeometry(o.X, o.Y, o.PhysicalWidthMm, o.PhysicalHeightMm, WlOutput.Subpixel.Unknown, o.Make, o.Model, WlOutput.Transform.Normal);
        r.SendMode(WlOutput.Mode.Current | WlOutput.Mode.Preferred, o.Width, o.Height, o.RefreshMilliHz);
        r.SendScale(1);
        r.SendName(o.Name);
        r.SendDescription(o.Description);
        r.SendDone();
    }

    internal void Unbound(OutputResource r) => _bound.Remove(r);

    public void SendEnterLeave(Surface s, bool entered)
    {
        if (!s.Resource.IsAlive) return;
        foreach (var r in BoundBy(s.Client))
            if (entered) s.Resource.SendEnter(r); else s.Resource.SendLeave(r);
    }

    public void Dispose() => _global.Dispose();
}

public sealed class OutputResource(NewId id, OutputGlobal global) : WlOutput(id)
{
    public OutputGlobal Global => global;
    protected override void OnResourceDestroyed() => global.Unbound(this);
}
