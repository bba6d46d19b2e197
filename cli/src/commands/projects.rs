//! `projects list|get|create`.

use tasktracker_proto::v1;

use super::all_pages;
use crate::{api::Session, args::ProjectsCommand, error::CliError, names, output::Output};

/// The API's largest ListProjects page.
const MAX_PAGE_SIZE: usize = 200;

pub async fn run(session: &Session, command: ProjectsCommand, out: &Output) -> Result<(), CliError> {
    let client = session.api.projects();
    match command {
        ProjectsCommand::List { archived, limit } => {
            let projects = all_pages(limit.limit, MAX_PAGE_SIZE, |page_token, page_size| {
                let mut client = client.clone();
                async move {
                    let page = client
                        .list_projects(v1::ListProjectsRequest { page_size, page_token, show_archived: archived })
                        .await?
                        .into_inner();
                    Ok((page.projects, page.next_page_token))
                }
            })
            .await?;
            out.projects(&projects);
        }
        ProjectsCommand::Get { project } => {
            let name = names::project(&project);
            let project = client.clone().get_project(v1::GetProjectRequest { name }).await?.into_inner();
            out.project(&project);
        }
        ProjectsCommand::Create { title, description } => {
            let project = v1::Project { title, description: description.unwrap_or_default(), ..Default::default() };
            let request = v1::CreateProjectRequest { project: Some(project), request_id: String::new() };
            let project = client.clone().create_project(request).await?.into_inner();
            out.project(&project);
        }
    }
    Ok(())
}
