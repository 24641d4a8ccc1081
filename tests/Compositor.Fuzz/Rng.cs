namespace Compositor.Fuzz;

/// <summary>SplitMix64: a stable generator (System.Random's seeded sequence is not promised across .NET versions),
/// so (seed, iteration) names the same request stream on every machine and runtime.</summary>
public sealed class Rng(ulong seed, ulong iteration)
{
    ulong _s = Mix(Mix(seed) ^ (iteration * 0xD1B54A32D192ED03UL + 0x9E3779B97F4A7C15UL));

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong Next() => Mix(_s += 0x9E3779B97F4A7C15UL);
    public int Int(int n) => n <= 1 ? 0 : (int)(Next() % (ulong)n);
    public int Range(int lo, int hi) => lo + Int(hi - lo + 1);
    public double Unit() => (Next() >> 11) * (1.0 / (1UL << 53));
    public bool Chance(double p) => Unit() < p;
    public T Pick<T>(IReadOnlyList<T> l) => l[Int(l.Count)];
    public T Pick<T>(T a, T b, params T[] rest) { int i = Int(rest.Length + 2); return i == 0 ? a : i == 1 ? b : rest[i - 2]; }
}
