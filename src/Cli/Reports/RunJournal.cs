using BitActors.Actors;

namespace BitActors.Cli.Reports;

/// <summary>What a run has produced so far (the reporter records it as it happens); the run folder's summary is written from it.</summary>
public sealed class RunJournal
{
    private readonly object _gate = new();
    private readonly List<FineTuneCompleted> _completed = new();
    private readonly List<FineTuneFailed> _failed = new();
    private BackboneReady? _backbone;
    private string? _phase;

    public void Record(object message)
    {
        lock (_gate)
        {
            switch (message)
            {
                case BackboneReady b: _backbone = b; break;
                case FineTuneCompleted c: _completed.Add(c); break;
                case FineTuneFailed f: _failed.Add(f); break;
                case BitActors.Actors.Training.PhaseChanged p: _phase = p.Phase; break;
            }
        }
    }

    public BackboneReady? Backbone { get { lock (_gate) return _backbone; } }

    public IReadOnlyList<FineTuneCompleted> Completed { get { lock (_gate) return _completed.ToList(); } }

    public IReadOnlyList<FineTuneFailed> Failed { get { lock (_gate) return _failed.ToList(); } }

    /// <summary>How many tasks have finished, completed or failed (without copying them).</summary>
    public int Finished { get { lock (_gate) return _completed.Count + _failed.Count; } }

    /// <summary>The last phase the upstream supervisor reported.</summary>
    public string? Phase { get { lock (_gate) return _phase; } }
}
