using System.Globalization;
using Tmds.Linux;

namespace LinuxKernel.DmaBuf;

/// <summary>
/// The administrator's heap choices (default file <see cref="DefaultPath"/>, or --heap-config=FILE). One entry a
/// line: a device match, blanks, then heap names in order of preference, separated by commas or blanks; `#` starts a
/// comment. Matches: <c>dev=MAJ:MIN</c>, <c>path=/dev/dri/card0</c> (the node the compositor uses, or its primary
/// or render node), <c>driver=NAME</c>; the most specific that matches wins (dev, then path, then driver), and a
/// later line for the same match replaces an earlier one. Example: <c>driver=vkms system</c>. Lines that cannot be
/// read are reported and skipped; heap names the kernel lacks are reported when the hints are made.
/// </summary>
public sealed class HeapConfig
{
    public const string DefaultPath = "/etc/compositor/heaps.conf";
    public static readonly HeapConfig Empty = new();

    readonly Dictionary<string, IReadOnlyList<string>> _byDriver = new(StringComparer.Ordinal);
    readonly Dictionary<string, IReadOnlyList<string>> _byPath = new(StringComparer.Ordinal);
    readonly Dictionary<DeviceNumber, IReadOnlyList<string>> _byDev = new();

    public List<string> Problems { get; } = new();

    public static HeapConfig Parse(string text, string source = "heap config")
    {
        var c = new HeapConfig();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            string line = (raw.IndexOf('#') is var h and >= 0 ? raw[..h] : raw).Trim();
            if (line.Length == 0) continue;
            var words = line.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries);
            string where = $"{source}:{lineNo}";
            if (words.Length < 2) { c.Problems.Add($"{where}: '{line}': a match and at least one heap name are needed"); continue; }
            var heaps = words[1..];
            int eq = words[0].IndexOf('=');
            string key = eq > 0 ? words[0][..eq] : "", value = eq > 0 ? words[0][(eq + 1)..] : "";
            switch (key)
            {
                case "driver" when value.Length > 0: c._byDriver[value] = heaps; break;
                case "path" when value.StartsWith('/'): c._byPath[value] = heaps; break;
                case "dev" when ParseDev(value) is { } d: c._byDev[d] = heaps; break;
                default: c.Problems.Add($"{where}: '{words[0]}' is not dev=MAJ:MIN, path=/dev/... or driver=NAME"); break;
            }
        }
        return c;
    }

    /// <summary>The file at <paramref name="path"/>; an absent default file is no config, an absent named one a problem.</summary>
    public static HeapConfig Load(string? path)
    {
        string file = path ?? DefaultPath;
        if (!File.Exists(file))
        {
            var none = new HeapConfig();
            if (path != null) none.Problems.Add($"{path}: no such file");
            return none;
        }
        return Parse(File.ReadAllText(file), file);
    }

    static DeviceNumber? ParseDev(string s)
    {
        var p = s.Split(':');
        return p.Length == 2 && uint.TryParse(p[0], CultureInfo.InvariantCulture, out uint ma) && uint.TryParse(p[1], CultureInfo.InvariantCulture, out uint mi)
            ? DeviceNumber.From(ma, mi) : null;
    }

    /// <summary>The heaps configured for a device, or null.</summary>
    public IReadOnlyList<string>? For(DeviceNumber number, IEnumerable<string?> paths, string driver)
    {
        if (_byDev.TryGetValue(number, out var d)) return d;
        foreach (var p in paths)
            if (p != null && _byPath.TryGetValue(p, out var byPath)) return byPath;
        return _byDriver.GetValueOrDefault(driver);
    }
}

/// <summary>Whether a client's credentials can open a node read-write, as the kernel's permission check would
/// decide it from the mode bits (no ACLs, no capabilities but root's).</summary>
public static class NodeAccess
{
    /// <summary>The groups are asked for only when the answer depends on them (not root, not the owner, group bits
    /// other than the others' bits): the common cases cost no lookup.</summary>
    public static bool CanOpenReadWrite(uint mode, uint ownerUid, uint ownerGid, uint uid, Func<IReadOnlyCollection<uint>> gids)
    {
        if (uid == 0) return true;
        uint group = (mode >> 3) & 7, other = mode & 7;
        uint bits = uid == ownerUid ? (mode >> 6) & 7 : group != other && gids().Contains(ownerGid) ? group : other;
        return (bits & 6) == 6;
    }

    /// <summary>stat of the node, then <see cref="CanOpenReadWrite(uint,uint,uint,uint,Func{IReadOnlyCollection{uint}})"/>;
    /// false when the node cannot be stat'ed.</summary>
    public static unsafe bool CanOpenReadWrite(string node, uint uid, Func<IReadOnlyCollection<uint>> gids)
    {
        byte[] path = Interop.Sys.NulTerminated(node);
        stat st;
        fixed (byte* p = path)
            if (LibC.stat(p, &st) != 0) return false;
        return CanOpenReadWrite((uint)st.st_mode, (uint)st.st_uid, (uint)st.st_gid, uid, gids);
    }

    const int SO_PEERGROUPS = 59; // Linux 4.13; not in Tmds.LibC

    /// <summary>
    /// The groups of a unix socket's peer as the kernel recorded them at connect (SO_PEERGROUPS), with its primary
    /// <paramref name="gid"/> (SO_PEERCRED's): both from the same moment. The socket's own record, unlike
    /// /proc/PID/status, cannot name another process that reused the pid. An error gives the primary gid alone: the
    /// client is then told less, never more.
    /// </summary>
    public static unsafe IReadOnlyCollection<uint> PeerGroups(int socketFd, uint gid)
    {
        var gids = new HashSet<uint> { gid };
        Span<uint> small = stackalloc uint[32];
        uint[]? large = null;
        socklen_t len = (socklen_t)(small.Length * sizeof(uint));
        int rc;
        fixed (uint* p = small) rc = LibC.getsockopt(socketFd, LibC.SOL_SOCKET, SO_PEERGROUPS, p, &len);
        if (rc != 0 && LibC.errno == LibC.ERANGE)
        {
            large = new uint[(int)len / sizeof(uint)];
            fixed (uint* p = large) rc = LibC.getsockopt(socketFd, LibC.SOL_SOCKET, SO_PEERGROUPS, p, &len);
        }
        if (rc != 0) return gids;
        ReadOnlySpan<uint> got = large != null ? large : small;
        foreach (uint g in got[..((int)len / sizeof(uint))]) gids.Add(g);
        return gids;
    }
}
