namespace Experiments.Running;

/// <summary>What every experiment leaves: a summary table, the data as CSV and a picture.</summary>
public interface IExperimentResult
{
    SummaryTable Summary();

    CsvTable Data();

    /// <summary>Draws the picture into a PNG file.</summary>
    void SavePicture(string path);
}
